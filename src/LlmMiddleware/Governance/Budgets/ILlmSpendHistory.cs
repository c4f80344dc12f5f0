namespace LlmMiddleware;

/// <summary>
/// What callers have already spent, from a durable ledger (<c>AddPostgreSqlLedger()</c> provides one): budgets
/// counted in this instance's memory start each account from it, so a restart does not hand a budget back.
/// </summary>
public interface ILlmSpendHistory
{
    /// <summary>The cost in USD of the calls of <paramref name="subject"/> (a key id, team, user, app, or tag as
    /// <c>name=value</c>) since <paramref name="since"/>.</summary>
    ValueTask<decimal> SpentAsync(LlmBudgetScope scope, string subject, DateTimeOffset since, CancellationToken cancellationToken);
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmMiddleware.Governance.Budgets;

/// <summary>
/// Budget accounts in this instance's memory: exact for one instance. With a spend history (the ledger), each account
/// starts from what its subject already spent in the period, so a restart does not hand the budget back.
/// </summary>
internal sealed partial class InMemoryBudgetCounters(BudgetPeriods periods, ILlmSpendHistory? history = null, ILogger? logger = null) : IBudgetCounters
{
    private readonly ConcurrentDictionary<(LlmBudgetScope, string, LlmBudgetPeriod), BudgetAccount> _accounts = new();

    public ValueTask<BudgetAdmission> TryReserveAsync(BudgetCharge[] charges, decimal amount, DateTimeOffset now)
    {
        foreach (var charge in charges)
        {
            if (!Account(charge, now).Seeded.IsCompletedSuccessfully)
            {
                return SeedThenReserveAsync(charges, amount, now);
            }
        }

        return new(Reserve(charges, amount, now));
    }

    /// <summary>A new account's first call waits for its history (one query); every later call finds it in.</summary>
    private async ValueTask<BudgetAdmission> SeedThenReserveAsync(BudgetCharge[] charges, decimal amount, DateTimeOffset now)
    {
        foreach (var charge in charges)
        {
            await Account(charge, now).Seeded.ConfigureAwait(false);
        }

        return Reserve(charges, amount, now);
    }

    private BudgetAdmission Reserve(BudgetCharge[] charges, decimal amount, DateTimeOffset now)
    {
        for (var i = 0; i < charges.Length; i++)
        {
            var account = Account(charges[i], now);
            if (!account.TryReserve(charges[i].Budget, amount, now, periods))
            {
                for (var j = 0; j < i; j++)
                {
                    Account(charges[j], now).Settle(amount, 0m, now, periods);
                }

                return new BudgetAdmission(account.Status(charges[i].Budget, now, periods), null);
            }
        }

        return default;
    }

    public ValueTask<BudgetCrossing[]?> SettleAsync(BudgetCharge[] charges, string? holdId, decimal released, bool last, decimal cost, DateTimeOffset reservedAt, DateTimeOffset now)
    {
        List<BudgetCrossing>? crossed = null;
        for (var i = 0; i < charges.Length; i++)
        {
            var (before, after) = Account(charges[i], now).Settle(released, cost, now, periods);
            if (BudgetAlerts.Crossed(charges[i].Budget, before, after) is { } threshold)
            {
                (crossed ??= []).Add(new BudgetCrossing(i, threshold));
            }
        }

        return new(crossed?.ToArray());
    }

    public ValueTask<LlmBudgetStatus> StatusAsync(BudgetCharge charge, DateTimeOffset now) => new(Account(charge, now).Status(charge.Budget, now, periods));

    public async IAsyncEnumerable<LlmBudgetStatus> StatusesAsync(Func<LlmBudgetScope, string, LlmBudgetPeriod, LlmBudget?> budgetOf, DateTimeOffset now)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        foreach (var ((scope, subject, period), account) in _accounts)
        {
            if (budgetOf(scope, subject, period) is { } budget)
            {
                yield return account.Status(budget, now, periods);
            }
        }
    }

    private BudgetAccount Account(BudgetCharge charge, DateTimeOffset now) =>
        _accounts.TryGetValue((charge.Budget.Scope, charge.Subject, charge.Budget.Period), out var account) ? account : Open(charge, now);

    /// <summary>An account's first call (apart from <see cref="Account"/>, whose every call would otherwise allocate the closure).</summary>
    private BudgetAccount Open(BudgetCharge charge, DateTimeOffset now)
    {
        var (scope, subject) = (charge.Budget.Scope, charge.Subject);
        var key = (scope, subject, charge.Budget.Period);
        var account = new BudgetAccount(subject, charge.Budget.Period);
        if (_accounts.TryAdd(key, account) && history is not null)
        {
            // Counting on without the history is the lesser harm than refusing every call of the account.
            account.Seed(scope, now, periods, history, ex => Log.HistoryFailed(logger ?? NullLogger.Instance, scope, subject, ex));
        }

        return _accounts[key];
    }

    private static partial class Log
    {
        [LoggerMessage(36, LogLevel.Warning, "The spend history of budget {Scope} '{Subject}' could not be read; the account counts from zero.", EventName = "BudgetHistoryFailed")]
        public static partial void HistoryFailed(ILogger logger, LlmBudgetScope scope, string subject, Exception exception);
    }
}

namespace LlmMiddleware.Governance.Budgets;

/// <summary>An account a call is charged to: a subject under a budget (whose period and limit it takes).</summary>
internal readonly record struct BudgetCharge(LlmBudget Budget, string Subject);

/// <summary>
/// Where budget accounts are counted: this instance's memory by default (<see cref="InMemoryBudgetCounters"/>), or a
/// store every instance shares (Redis). Reservations are checked and taken atomically across all of a call's accounts.
/// </summary>
internal interface IBudgetCounters
{
    /// <summary>Holds <paramref name="amount"/> for call <paramref name="callId"/> on every account, or on none: returns
    /// <see langword="null"/> when held, else the state of the first account without room.</summary>
    ValueTask<LlmBudgetStatus?> TryReserveAsync(BudgetCharge[] charges, string callId, decimal amount, DateTimeOffset now);

    /// <summary>Releases <paramref name="released"/> of the call's hold (taken at <paramref name="reservedAt"/>; all of it
    /// when <paramref name="last"/>) and charges <paramref name="cost"/> to the current period. Returns, per account, the
    /// spend before and after the charge (for soft limits).</summary>
    ValueTask<(decimal Before, decimal After)[]> SettleAsync(BudgetCharge[] charges, string callId, decimal released, bool last, decimal cost, DateTimeOffset reservedAt, DateTimeOffset now);

    /// <summary>An account's state in its current period.</summary>
    ValueTask<LlmBudgetStatus> StatusAsync(BudgetCharge charge, DateTimeOffset now);

    /// <summary>Every account counted, under the budget <paramref name="budgetOf"/> finds in force for it (skipped when none).</summary>
    IAsyncEnumerable<LlmBudgetStatus> StatusesAsync(Func<LlmBudgetScope, string, LlmBudgetPeriod, LlmBudget?> budgetOf, DateTimeOffset now);
}

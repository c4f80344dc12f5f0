namespace LlmMiddleware.Governance.Budgets;

/// <summary>An account a call is charged to: a subject under a budget (whose period and limit it takes).</summary>
internal readonly record struct BudgetCharge(LlmBudget Budget, string Subject);

/// <summary>A reservation's outcome: refused by an account (its state), or held — under an id when the counters need one.</summary>
internal readonly record struct BudgetAdmission(LlmBudgetStatus? Refusal, string? HoldId);

/// <summary>A soft limit a settlement crossed on one of a call's accounts.</summary>
internal readonly record struct BudgetCrossing(int Charge, double Threshold);

/// <summary>
/// Where budget accounts are counted: this instance's memory by default (<see cref="InMemoryBudgetCounters"/>), or a
/// store every instance shares (Redis). Reservations are checked and taken atomically across all of a call's accounts.
/// </summary>
internal interface IBudgetCounters
{
    /// <summary>Holds <paramref name="amount"/> on every account, or on none.</summary>
    ValueTask<BudgetAdmission> TryReserveAsync(BudgetCharge[] charges, decimal amount, DateTimeOffset now);

    /// <summary>Releases <paramref name="released"/> of the hold (taken at <paramref name="reservedAt"/>; all of it when
    /// <paramref name="last"/>) and charges <paramref name="cost"/> to the current period. Returns the soft limits the
    /// charge crossed (<see cref="BudgetAlerts.Crossed"/>), or <see langword="null"/> — almost always — for none.</summary>
    ValueTask<BudgetCrossing[]?> SettleAsync(BudgetCharge[] charges, string? holdId, decimal released, bool last, decimal cost, DateTimeOffset reservedAt, DateTimeOffset now);

    /// <summary>An account's state in its current period.</summary>
    ValueTask<LlmBudgetStatus> StatusAsync(BudgetCharge charge, DateTimeOffset now);

    /// <summary>Every account counted, under the budget <paramref name="budgetOf"/> finds in force for it (skipped when none).</summary>
    IAsyncEnumerable<LlmBudgetStatus> StatusesAsync(Func<LlmBudgetScope, string, LlmBudgetPeriod, LlmBudget?> budgetOf, DateTimeOffset now);
}

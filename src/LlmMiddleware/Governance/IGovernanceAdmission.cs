using LlmMiddleware.Governance.Budgets;
using LlmMiddleware.Governance.Limits;

namespace LlmMiddleware.Governance;

/// <summary>
/// Rate limits and budgets admitted in one step, for counters in a store every instance shares (Redis), where each step
/// is a round trip: a call's windows, slots and reservations are checked and taken together — all, or none.
/// </summary>
internal interface IGovernanceAdmission
{
    /// <summary>Takes from the limits of <paramref name="subjects"/> and reserves <paramref name="amount"/> on
    /// <paramref name="charges"/>. When a limit refuses, the budgets are not looked at (<c>Budgets</c> is
    /// <see langword="null"/>); when a budget refuses, nothing is taken from the limits either.</summary>
    ValueTask<(LimitAdmission Limits, BudgetAdmission? Budgets)> TryAdmitAsync(LimitSubject[] subjects, long tokens, BudgetCharge[] charges, decimal amount, DateTimeOffset now);
}

using System.ComponentModel.DataAnnotations;
using LlmMiddleware.Governance.Budgets;

namespace LlmMiddleware;

/// <summary>
/// The budgets in force and what each subject has spent against them. Set, change and remove budgets while the gateway
/// runs; an account's spend in its period is kept when its budget changes. Registered by <c>AddBudgets()</c>.
/// </summary>
public sealed class LlmBudgets
{
    private readonly Lock _writes = new();
    private readonly BudgetBook _book;
    private readonly BudgetAlerts _alerts;
    private readonly TimeProvider _time;

    internal LlmBudgets(BudgetBook book, BudgetAlerts alerts, TimeProvider time)
    {
        _book = book;
        _alerts = alerts;
        _time = time;
    }

    internal BudgetBook Book => _book;

    internal BudgetAlerts Alerts => _alerts;

    internal TimeProvider Time => _time;

    /// <summary>The budgets in force (copies).</summary>
    public IReadOnlyList<LlmBudget> List() => [.. _book.Budgets.Select(b => b.Clone())];

    /// <summary>Adds <paramref name="budget"/>, or replaces the one of the same scope, subject and period.</summary>
    public void Set(LlmBudget budget)
    {
        ArgumentNullException.ThrowIfNull(budget);
        Validator.ValidateObject(budget, new ValidationContext(budget), validateAllProperties: true);
        if (budget.SoftLimits?.Any(t => t is <= 0 or > 1 || double.IsNaN(t)) == true)
        {
            throw new ArgumentException("Soft limits are fractions of the limit, greater than 0 and at most 1.", nameof(budget));
        }

        lock (_writes)
        {
            _book.Replace([.. _book.Budgets.Where(b => !SameSlot(b, budget.Scope, budget.Subject, budget.Period)), budget]);
        }
    }

    /// <summary>Removes the budget of <paramref name="scope"/>, <paramref name="subject"/> and <paramref name="period"/>; returns whether there was one.</summary>
    public bool Remove(LlmBudgetScope scope, string subject, LlmBudgetPeriod period)
    {
        lock (_writes)
        {
            var before = _book.Budgets.Count;
            var kept = _book.Budgets.Where(b => !SameSlot(b, scope, subject, period)).ToList();
            _book.Replace(kept);
            return kept.Count != before;
        }
    }

    /// <summary>Where <paramref name="subject"/> (a key id, team, user, app, or tag as <c>name=value</c>) stands under
    /// each budget of <paramref name="scope"/> that applies to it.</summary>
    public IReadOnlyList<LlmBudgetStatus> Status(LlmBudgetScope scope, string subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        return _book.Status(scope, subject, _time.GetUtcNow());
    }

    /// <summary>Where every subject that has made calls stands under its budgets.</summary>
    public IReadOnlyList<LlmBudgetStatus> Statuses() => [.. _book.Statuses(_time.GetUtcNow())];

    internal void Settle((LlmBudget Budget, BudgetAccount Account)[] accounts, decimal released, decimal cost)
    {
        var now = _time.GetUtcNow();
        foreach (var (budget, account) in accounts)
        {
            if (account.Settle(budget, released, cost, now, _book.Periods) is { } alert)
            {
                _alerts.Raise(alert);
            }
        }
    }

    private static bool SameSlot(LlmBudget budget, LlmBudgetScope scope, string subject, LlmBudgetPeriod period) =>
        budget.Scope == scope && budget.Period == period && string.Equals(budget.Subject, subject, StringComparison.Ordinal);
}

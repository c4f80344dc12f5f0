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

    internal LlmBudgets(BudgetBook book, IBudgetCounters counters, BudgetAlerts alerts, TimeProvider time, ILlmGovernanceRuleStore? store)
    {
        Store = store;
        Book = book;
        Counters = counters;
        Alerts = alerts;
        Time = time;
    }

    internal BudgetBook Book { get; }

    /// <summary>The shared rule store, if any: changes go there, and reach every instance from it.</summary>
    internal ILlmGovernanceRuleStore? Store { get; }

    internal IBudgetCounters Counters { get; }

    internal BudgetAlerts Alerts { get; }

    internal TimeProvider Time { get; }

    /// <summary>The budgets in force (copies).</summary>
    public IReadOnlyList<LlmBudget> List() => [.. Book.Budgets.Select(b => b.Clone())];

    /// <summary>Adds <paramref name="budget"/>, or replaces the one of the same scope, subject and period — on every
    /// instance when a shared rule store is registered.</summary>
    public async ValueTask SetAsync(LlmBudget budget, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(budget);
        Validator.ValidateObject(budget, new ValidationContext(budget), validateAllProperties: true);
        if (budget.SoftLimits?.Any(t => t is <= 0 or > 1 || double.IsNaN(t)) == true)
        {
            throw new ArgumentException("Soft limits are fractions of the limit, greater than 0 and at most 1.", nameof(budget));
        }

        if (Store is not null)
        {
            await Store.SetBudgetAsync(budget.Clone(), cancellationToken).ConfigureAwait(false);
        }

        lock (_writes)
        {
            Book.Replace([.. Book.Budgets.Where(b => !SameSlot(b, budget.Scope, budget.Subject, budget.Period)), budget]);
        }
    }

    /// <summary>Removes the budget of <paramref name="scope"/>, <paramref name="subject"/> and <paramref name="period"/>
    /// (on every instance, with a shared rule store); returns whether there was one.</summary>
    public async ValueTask<bool> RemoveAsync(LlmBudgetScope scope, string subject, LlmBudgetPeriod period, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subject);
        var stored = Store is not null && await Store.RemoveBudgetAsync(scope, subject, period, cancellationToken).ConfigureAwait(false);
        lock (_writes)
        {
            var before = Book.Budgets.Count;
            Book.Replace([.. Book.Budgets.Where(b => !SameSlot(b, scope, subject, period))]);
            return stored || Book.Budgets.Count != before;
        }
    }

    /// <summary>Where <paramref name="subject"/> (a key id, team, user, app, or tag as <c>name=value</c>) stands under
    /// each budget of <paramref name="scope"/> that applies to it.</summary>
    public async ValueTask<IReadOnlyList<LlmBudgetStatus>> StatusAsync(LlmBudgetScope scope, string subject, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subject);
        var now = Time.GetUtcNow();
        var statuses = new List<LlmBudgetStatus>();
        foreach (var budget in Book.Of(scope, subject))
        {
            statuses.Add(await Counters.StatusAsync(new BudgetCharge(budget, subject), now).ConfigureAwait(false));
        }

        return statuses;
    }

    /// <summary>Where every subject that has made calls stands under its budgets.</summary>
    public async ValueTask<IReadOnlyList<LlmBudgetStatus>> StatusesAsync(CancellationToken cancellationToken = default)
    {
        var statuses = new List<LlmBudgetStatus>();
        await foreach (var status in Counters.StatusesAsync(Book.For, Time.GetUtcNow()).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            statuses.Add(status);
        }

        return statuses;
    }

    /// <summary>Settles a call's record on its accounts, off the call's path when the counters are remote; raises the soft limits it crosses.</summary>
    internal void Settle(BudgetCharge[] charges, string? holdId, decimal released, bool last, decimal cost, DateTimeOffset reservedAt)
    {
        var now = Time.GetUtcNow();
        var settled = Counters.SettleAsync(charges, holdId, released, last, cost, reservedAt, now);
        if (!settled.IsCompletedSuccessfully)
        {
            _ = AwaitAsync(settled, charges, now);
        }
        else if (settled.Result is { } crossed)
        {
            Raise(charges, crossed, now);
        }
    }

    private async Task AwaitAsync(ValueTask<BudgetCrossing[]?> settled, BudgetCharge[] charges, DateTimeOffset now)
    {
        try
        {
            if (await settled.ConfigureAwait(false) is { } crossed)
            {
                Raise(charges, crossed, now);
            }
        }
        catch (Exception ex)
        {
            Alerts.SettlementFailed(ex);
        }
    }

    private void Raise(BudgetCharge[] charges, BudgetCrossing[] crossed, DateTimeOffset now)
    {
        foreach (var (charge, threshold) in crossed)
        {
            _ = RaiseAsync(charges[charge], threshold, now);
        }
    }

    private async Task RaiseAsync(BudgetCharge charge, double threshold, DateTimeOffset now)
    {
        try
        {
            Alerts.Raise(new LlmBudgetAlert(await Counters.StatusAsync(charge, now).ConfigureAwait(false), threshold));
        }
        catch (Exception ex)
        {
            Alerts.SettlementFailed(ex);
        }
    }

    private static bool SameSlot(LlmBudget budget, LlmBudgetScope scope, string subject, LlmBudgetPeriod period) =>
        budget.Scope == scope && budget.Period == period && string.Equals(budget.Subject, subject, StringComparison.Ordinal);
}

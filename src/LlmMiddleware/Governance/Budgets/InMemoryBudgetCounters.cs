using System.Collections.Concurrent;

namespace LlmMiddleware.Governance.Budgets;

/// <summary>Budget accounts in this instance's memory: exact for one instance, lost on restart.</summary>
internal sealed class InMemoryBudgetCounters(BudgetPeriods periods) : IBudgetCounters
{
    private readonly ConcurrentDictionary<(LlmBudgetScope, string, LlmBudgetPeriod), BudgetAccount> _accounts = new();

    public ValueTask<BudgetAdmission> TryReserveAsync(BudgetCharge[] charges, decimal amount, DateTimeOffset now)
    {
        for (var i = 0; i < charges.Length; i++)
        {
            var account = Account(charges[i]);
            if (!account.TryReserve(charges[i].Budget, amount, now, periods))
            {
                for (var j = 0; j < i; j++)
                {
                    Account(charges[j]).Settle(amount, 0m, now, periods);
                }

                return new(new BudgetAdmission(account.Status(charges[i].Budget, now, periods), null));
            }
        }

        return default;
    }

    public ValueTask<BudgetCrossing[]?> SettleAsync(BudgetCharge[] charges, string? holdId, decimal released, bool last, decimal cost, DateTimeOffset reservedAt, DateTimeOffset now)
    {
        List<BudgetCrossing>? crossed = null;
        for (var i = 0; i < charges.Length; i++)
        {
            var (before, after) = Account(charges[i]).Settle(released, cost, now, periods);
            if (BudgetAlerts.Crossed(charges[i].Budget, before, after) is { } threshold)
            {
                (crossed ??= []).Add(new BudgetCrossing(i, threshold));
            }
        }

        return new(crossed?.ToArray());
    }

    public ValueTask<LlmBudgetStatus> StatusAsync(BudgetCharge charge, DateTimeOffset now) => new(Account(charge).Status(charge.Budget, now, periods));

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

    private BudgetAccount Account(BudgetCharge charge) =>
        _accounts.GetOrAdd((charge.Budget.Scope, charge.Subject, charge.Budget.Period), static key => new BudgetAccount(key.Item2, key.Item3));
}

using System.Collections.Concurrent;

namespace LlmMiddleware.Governance.Budgets;

/// <summary>Budget accounts in this instance's memory: exact for one instance, lost on restart.</summary>
internal sealed class InMemoryBudgetCounters(BudgetPeriods periods) : IBudgetCounters
{
    private readonly ConcurrentDictionary<(LlmBudgetScope, string, LlmBudgetPeriod), BudgetAccount> _accounts = new();

    public ValueTask<LlmBudgetStatus?> TryReserveAsync(BudgetCharge[] charges, string callId, decimal amount, DateTimeOffset now)
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

                return new(account.Status(charges[i].Budget, now, periods));
            }
        }

        return new((LlmBudgetStatus?)null);
    }

    public ValueTask<(decimal Before, decimal After)[]> SettleAsync(BudgetCharge[] charges, string callId, decimal released, bool last, decimal cost, DateTimeOffset reservedAt, DateTimeOffset now)
    {
        var spent = new (decimal, decimal)[charges.Length];
        for (var i = 0; i < charges.Length; i++)
        {
            spent[i] = Account(charges[i]).Settle(released, cost, now, periods);
        }

        return new(spent);
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

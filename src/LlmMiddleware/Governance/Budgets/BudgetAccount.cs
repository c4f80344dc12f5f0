namespace LlmMiddleware.Governance.Budgets;

/// <summary>
/// One subject's account under one budget, in memory: what it spent in the current period and what calls in flight
/// hold. A reservation is checked and taken under one lock, so concurrent calls can never together hold more than the limit.
/// </summary>
internal sealed class BudgetAccount(string subject, LlmBudgetPeriod period)
{
    private readonly Lock _lock = new();
    private DateTimeOffset _start = DateTimeOffset.MinValue;
    private DateTimeOffset _end = DateTimeOffset.MinValue;
    private decimal _spent;
    private decimal _reserved;

    public string Subject { get; } = subject;

    /// <summary>Done once the spend recorded before this instance counted the account is in (see <see cref="Seed"/>).</summary>
    public Task Seeded { get; private set; } = Task.CompletedTask;

    /// <summary>Adds what <paramref name="history"/> holds for the account's current period, once, before it admits
    /// calls; if the history cannot be read, <paramref name="failed"/> is told and the account counts from zero.</summary>
    public void Seed(LlmBudgetScope scope, DateTimeOffset now, BudgetPeriods periods, ILlmSpendHistory history, Action<Exception> failed)
    {
        lock (_lock)
        {
            Roll(now, periods);
            var start = _start;
            Seeded = AddAsync(Read(), start);
            ValueTask<decimal> Read()
            {
                try
                {
                    return history.SpentAsync(scope, Subject, start, CancellationToken.None);
                }
                catch (Exception ex)
                {
                    return ValueTask.FromException<decimal>(ex);
                }
            }
        }

        async Task AddAsync(ValueTask<decimal> spent, DateTimeOffset period)
        {
            decimal earlier;
            try
            {
                earlier = await spent.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failed(ex);
                return;
            }

            lock (_lock)
            {
                if (_start == period)
                {
                    _spent += earlier;
                }
            }
        }
    }

    public LlmBudgetPeriod Period { get; } = period;

    /// <summary>Takes <paramref name="amount"/> if it fits under <paramref name="budget"/>'s limit.</summary>
    public bool TryReserve(LlmBudget budget, decimal amount, DateTimeOffset now, BudgetPeriods periods)
    {
        lock (_lock)
        {
            Roll(now, periods);
            if (!Fits(budget.Limit, _spent, _reserved, amount))
            {
                return false;
            }

            _reserved += amount;
            return true;
        }
    }

    /// <summary>Whether <paramref name="amount"/> more fits: a spent budget admits nothing, not even a free call.</summary>
    private static bool Fits(decimal limit, decimal spent, decimal reserved, decimal amount) => spent < limit && spent + reserved + amount <= limit;

    /// <summary>Releases <paramref name="released"/> of what was reserved and charges <paramref name="cost"/>; returns the spend before and after.</summary>
    public (decimal Before, decimal After) Settle(decimal released, decimal cost, DateTimeOffset now, BudgetPeriods periods)
    {
        lock (_lock)
        {
            Roll(now, periods);
            _reserved = Math.Max(_reserved - released, 0m);
            var before = _spent;
            _spent += cost;
            return (before, _spent);
        }
    }

    public LlmBudgetStatus Status(LlmBudget budget, DateTimeOffset now, BudgetPeriods periods)
    {
        lock (_lock)
        {
            Roll(now, periods);
            return new(budget, Subject, _spent, _reserved, _start, _end == DateTimeOffset.MaxValue ? null : _end);
        }
    }

    /// <summary>Starts a new period when the current one is over; reservations in flight carry over.</summary>
    private void Roll(DateTimeOffset now, BudgetPeriods periods)
    {
        if (now >= _end)
        {
            (_start, _end) = periods.At(Period, now);
            _spent = 0;
        }
    }
}

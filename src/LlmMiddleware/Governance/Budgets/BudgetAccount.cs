namespace LlmMiddleware.Governance.Budgets;

/// <summary>
/// One subject's account under one budget: what it spent in the current period and what calls in flight hold. A
/// reservation is checked and taken under one lock, so concurrent calls can never together hold more than the limit.
/// </summary>
internal sealed class BudgetAccount(string subject, LlmBudgetPeriod period)
{
    private static readonly double[] DefaultSoftLimits = [0.8];

    private readonly Lock _lock = new();
    private DateTimeOffset _start = DateTimeOffset.MinValue;
    private DateTimeOffset _end = DateTimeOffset.MinValue;
    private decimal _spent;
    private decimal _reserved;
    private double _alerted; // the highest threshold already raised this period

    public string Subject { get; } = subject;

    public LlmBudgetPeriod Period { get; } = period;

    /// <summary>Takes <paramref name="amount"/> if it fits under <paramref name="budget"/>'s limit; otherwise says when the period ends.</summary>
    public bool TryReserve(LlmBudget budget, decimal amount, DateTimeOffset now, BudgetPeriods periods, out DateTimeOffset resetsAt)
    {
        lock (_lock)
        {
            Roll(now, periods);
            resetsAt = _end;
            if (_spent >= budget.Limit || _spent + _reserved + amount > budget.Limit)
            {
                return false;
            }

            _reserved += amount;
            return true;
        }
    }

    /// <summary>
    /// Releases <paramref name="released"/> of what was reserved and charges <paramref name="cost"/>. Returns the soft
    /// limit this crossed (1 when the budget is now spent), if any and not raised before in the period.
    /// </summary>
    public LlmBudgetAlert? Settle(LlmBudget budget, decimal released, decimal cost, DateTimeOffset now, BudgetPeriods periods)
    {
        lock (_lock)
        {
            Roll(now, periods);
            _reserved = Math.Max(_reserved - released, 0m);
            _spent += cost;
            if (cost <= 0 || budget.Limit <= 0)
            {
                return null;
            }

            var used = (double)(_spent / budget.Limit);
            var crossed = used >= 1 ? 1d : 0d;
            foreach (var threshold in budget.SoftLimits ?? DefaultSoftLimits)
            {
                if (used >= threshold)
                {
                    crossed = Math.Max(crossed, threshold);
                }
            }

            if (crossed <= _alerted)
            {
                return null;
            }

            _alerted = crossed;
            return new LlmBudgetAlert(StatusLocked(budget), crossed);
        }
    }

    public LlmBudgetStatus Status(LlmBudget budget, DateTimeOffset now, BudgetPeriods periods)
    {
        lock (_lock)
        {
            Roll(now, periods);
            return StatusLocked(budget);
        }
    }

    private LlmBudgetStatus StatusLocked(LlmBudget budget) =>
        new(budget, Subject, _spent, _reserved, _start, _end == DateTimeOffset.MaxValue ? null : _end);

    /// <summary>Starts a new period when the current one is over; reservations in flight carry over.</summary>
    private void Roll(DateTimeOffset now, BudgetPeriods periods)
    {
        if (now >= _end)
        {
            (_start, _end) = periods.At(Period, now);
            _spent = 0;
            _alerted = 0;
        }
    }
}

using LlmMiddleware.Pipeline;

namespace LlmMiddleware.Governance.Budgets;

/// <summary>
/// What a call holds on its budgets until it is metered: each record's true cost is charged and as much released from
/// the hold (race losers' first), and the call's own record releases the rest. Without a record (metering failed) the
/// whole hold is charged: the budget errs on the side of the money.
/// </summary>
internal sealed class BudgetReservation(LlmBudgets budgets, BudgetCharge[] charges, string? holdId, decimal amount, DateTimeOffset reservedAt) : CallSettlement
{
    private decimal _held = amount;
    private bool _closed;

    public override void Recorded(LlmCallRecord record) => Charge(record.Cost ?? 0m, close: false);

    public override void Close(LlmCallRecord? record) => Charge(record is null ? null : record.Cost ?? 0m, close: true);

    private void Charge(decimal? cost, bool close)
    {
        decimal released;
        bool last;
        lock (this) // a race's losers settle on their own threads; nothing else sees this object
        {
            cost ??= _held;
            last = close && !_closed;
            if (_closed)
            {
                released = 0m; // a loser disposed after the call: charged on its own
            }
            else if (close)
            {
                (released, _held, _closed) = (_held, 0m, true);
            }
            else
            {
                released = Math.Min(cost.Value, _held);
                _held -= released;
            }
        }

        budgets.Settle(charges, holdId, released, last, cost.Value, reservedAt);
    }
}

using LlmMiddleware.Pipeline;

namespace LlmMiddleware.Governance.Limits;

/// <summary>
/// Holds a call's rate-limit permits until it is metered: its token estimate corrected to the metered count (race
/// losers' tokens added as they are recorded), its concurrency slots given back when it ends.
/// </summary>
internal sealed class LimitSettlement(ILimitHold hold, long estimate) : CallSettlement
{
    public override void Recorded(LlmCallRecord record) => hold.CorrectTokens(record.InputTokens + record.OutputTokens);

    public override void Close(LlmCallRecord? record)
    {
        if (record is not null)
        {
            hold.CorrectTokens(record.InputTokens + record.OutputTokens - estimate);
        }

        hold.Release();
    }
}

namespace LlmMiddleware.Pipeline;

/// <summary>
/// Something held for a call until metering prices it — a budget's reservation, a token limit's estimate, a
/// concurrency slot. Metering hands it each record of the call: race losers' first, then the call's own, which closes it.
/// </summary>
internal abstract class CallSettlement
{
    /// <summary>The next settlement of the same call (a call holds few; a list would cost an allocation).</summary>
    internal CallSettlement? Next { get; set; }

    /// <summary>A race loser's record. It may arrive after <see cref="Close"/> (a loser disposed late), and is then
    /// settled on its own.</summary>
    public abstract void Recorded(LlmCallRecord record);

    /// <summary>The call is over: <paramref name="record"/> is its own record, or <see langword="null"/> when metering
    /// failed and the true cost is unknown. Called once.</summary>
    public abstract void Close(LlmCallRecord? record);
}

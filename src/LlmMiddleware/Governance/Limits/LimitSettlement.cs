using System.Threading.RateLimiting;
using LlmMiddleware.Pipeline;

namespace LlmMiddleware.Governance.Limits;

/// <summary>
/// What a call holds on rate limits: a request in each requests-per-minute window, its token estimate in each
/// tokens-per-minute window — corrected to the metered count when it ends, race losers' tokens added as they are
/// recorded — and its concurrency permits, released when it ends.
/// </summary>
internal sealed class LimitSettlement(long estimate) : CallSettlement
{
    private readonly List<(MinuteWindowLimiter Limiter, long Window)> _requests = [];
    private readonly List<(MinuteWindowLimiter Limiter, long Window)> _tokens = [];
    private readonly List<RateLimitLease> _leases = [];

    public bool HoldsUntilSettled => _tokens.Count > 0 || _leases.Count > 0;

    public void HoldRequest(MinuteWindowLimiter limiter, long window) => _requests.Add((limiter, window));

    public void HoldTokens(MinuteWindowLimiter limiter, long window) => _tokens.Add((limiter, window));

    public void Hold(RateLimitLease lease) => _leases.Add(lease);

    /// <summary>Hands back all that was taken: the call was refused by a limit after these.</summary>
    public void Release()
    {
        Correct(_requests, -1);
        Correct(_tokens, -estimate);
        ReleaseLeases();
    }

    public override void Recorded(LlmCallRecord record) => Correct(_tokens, record.InputTokens + record.OutputTokens);

    public override void Close(LlmCallRecord? record)
    {
        if (record is not null)
        {
            Correct(_tokens, record.InputTokens + record.OutputTokens - estimate);
        }

        ReleaseLeases();
    }

    private void ReleaseLeases()
    {
        foreach (var lease in _leases)
        {
            lease.Dispose();
        }
    }

    private static void Correct(List<(MinuteWindowLimiter Limiter, long Window)> holds, long delta)
    {
        foreach (var (limiter, window) in holds)
        {
            limiter.Adjust(window, delta);
        }
    }
}

namespace LlmMiddleware.Governance.Limits;

/// <summary>
/// A concurrency limit: <see cref="Limit"/> calls at once, never queued. A call takes and gives back a slot without a
/// lease object, one allocation a call less than System.Threading.RateLimiting's <c>ConcurrencyLimiter</c>.
/// </summary>
internal sealed class SlotLimiter(TimeProvider time, int limit)
{
    private int _used;
    private long _lastUsed = time.GetTimestamp();

    public int Limit { get; } = limit;

    /// <summary>How long no slot has been taken; <see langword="null"/> while one is: a limiter in use is never idle.</summary>
    public TimeSpan? IdleDuration => Volatile.Read(ref _used) > 0 ? null : time.GetElapsedTime(Volatile.Read(ref _lastUsed));

    public bool TryEnter()
    {
        var used = Volatile.Read(ref _used);
        while (used < Limit)
        {
            if (Interlocked.CompareExchange(ref _used, used + 1, used) is var seen && seen == used)
            {
                return true;
            }

            used = seen;
        }

        return false;
    }

    public void Exit()
    {
        Volatile.Write(ref _lastUsed, time.GetTimestamp());
        Interlocked.Decrement(ref _used);
    }
}

namespace LlmMiddleware.Governance.Limits;

/// <summary>
/// A fixed-window limiter over the clock's minutes, on the gateway's <see cref="TimeProvider"/>: windows start on the
/// minute, so instances sharing a store agree on them. Never queues. Permits can be handed back or corrected in the
/// window that took them (a token estimate settled to the metered count).
/// </summary>
internal sealed class MinuteWindowLimiter(TimeProvider time, long limit)
{
    private const long MinuteMs = 60_000;
    private readonly Lock _lock = new();
    private long _window;
    private long _used;
    private long _lastUsed = time.GetTimestamp();

    /// <summary>Permits per window; may change while in use (a changed rule).</summary>
    public long Limit { get; set; } = limit;

    /// <summary>Whether it counts tokens (a call's estimate, corrected when it is metered) rather than requests.</summary>
    public bool CountsTokens { get; init; }

    /// <summary>How long since a call last took from it.</summary>
    public TimeSpan IdleDuration => time.GetElapsedTime(Volatile.Read(ref _lastUsed));

    /// <summary>Takes <paramref name="permits"/> in the current window if they fit.</summary>
    public bool TryTake(long permits, out WindowState state)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var window = now / MinuteMs;
        Volatile.Write(ref _lastUsed, time.GetTimestamp());
        lock (_lock)
        {
            if (window != _window)
            {
                (_window, _used) = (window, 0);
            }

            var fits = _used + permits <= Limit;
            if (fits)
            {
                _used += permits;
            }

            state = new WindowState(window, Limit, Math.Max(Limit - _used, 0), TimeSpan.FromMilliseconds(((window + 1) * MinuteMs) - now));
            return fits;
        }
    }

    /// <summary>Adds <paramref name="delta"/> (negative to hand back) to <paramref name="window"/>'s count, if it is still the current one.</summary>
    public void Adjust(long window, long delta)
    {
        lock (_lock)
        {
            if (window == _window)
            {
                _used = Math.Max(_used + delta, 0);
            }
        }
    }
}

/// <summary>A window limiter's state after a call took (or failed to take) permits: for headers and <c>retry-after</c>.</summary>
internal readonly record struct WindowState(long Window, long Limit, long Remaining, TimeSpan ResetIn);

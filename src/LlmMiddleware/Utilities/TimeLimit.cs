namespace LlmMiddleware.Utilities;

/// <summary>
/// A token cancelled when <c>outer</c> is, or when a limit on the gateway's <see cref="TimeProvider"/> runs out —
/// what <c>CreateLinkedTokenSource(outer)</c> with <c>CancelAfter</c> would be, except that tests drive the time.
/// </summary>
internal sealed class TimeLimit : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;

    /// <summary>Starts <paramref name="limit"/> (<see cref="Timeout.InfiniteTimeSpan"/> for none yet) on
    /// <paramref name="timeProvider"/>, also cancelled with <paramref name="outer"/>.</summary>
    public TimeLimit(CancellationToken outer, TimeSpan limit, TimeProvider timeProvider)
    {
        _timer = new CancellationTokenSource(limit, timeProvider);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(outer, _timer.Token);
    }

    public CancellationToken Token => _linked.Token;

    /// <summary>Whether the limit (not <c>outer</c>) ran out.</summary>
    public bool Expired => _timer.IsCancellationRequested;

    /// <summary>Starts the limit again from now (an idle limit, rescheduled before every read).</summary>
    public void Restart(TimeSpan limit) => _timer.CancelAfter(limit);

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}

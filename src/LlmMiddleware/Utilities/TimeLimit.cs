namespace LlmMiddleware.Utilities;

/// <summary>
/// A token cancelled when <c>outer</c> is, or when a limit on the gateway's <see cref="TimeProvider"/> runs out —
/// what <c>CreateLinkedTokenSource(outer)</c> with <c>CancelAfter</c> would be, except that tests drive the time.
/// </summary>
internal sealed class TimeLimit : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly CancellationTokenRegistration _outerRegistration;

    /// <summary>Starts <paramref name="limit"/> (<see cref="Timeout.InfiniteTimeSpan"/> for none yet) on
    /// <paramref name="timeProvider"/>, also cancelled with <paramref name="outer"/>.</summary>
    public TimeLimit(CancellationToken outer, TimeSpan limit, TimeProvider timeProvider)
    {
        // One source with the timer, cancelled by the outer token through a registration: lighter per call than a
        // linked source over a second one.
        _source = new CancellationTokenSource(limit, timeProvider);
        _outerRegistration = outer.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), _source);
    }

    public CancellationToken Token => _source.Token;

    /// <summary>Starts the limit again from now (an idle limit, rescheduled before every read).</summary>
    public void Restart(TimeSpan limit) => _source.CancelAfter(limit);

    public void Dispose()
    {
        _outerRegistration.Dispose();
        _source.Dispose();
    }
}

using Microsoft.Extensions.Time.Testing;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that tells when the code under test schedules a timer (creates one, or moves one's
/// due time: <c>CancelAfter</c>, a restarted limit), so a test moves time once the timer it means exists instead of
/// moving it in a loop until something happens.
/// </summary>
public sealed class ObservedClock() : FakeTimeProvider(DateTimeOffset.UtcNow)
{
    private const int MaxUnclaimed = 4096;
    private readonly Lock _lock = new();
    private readonly Queue<TimeSpan> _unclaimed = new(); // scheduled since, not yet claimed by a wait
    private readonly List<(Func<TimeSpan, bool> Match, TaskCompletionSource<TimeSpan> Scheduled)> _waiters = [];

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ObservedTimer(this, base.CreateTimer(callback, state, dueTime, period));
        OnScheduled(dueTime);
        return timer;
    }

    /// <summary>Completes with the due time of the first timer scheduled with one that <paramref name="match"/>
    /// accepts; a schedule made before the call and not claimed by an earlier wait counts.</summary>
    public Task<TimeSpan> ScheduledAsync(Func<TimeSpan, bool> match)
    {
        lock (_lock)
        {
            var count = _unclaimed.Count;
            for (var i = 0; i < count; i++)
            {
                var due = _unclaimed.Dequeue();
                if (match(due))
                {
                    // The rest keep their order behind the ones already re-queued.
                    for (var j = i + 1; j < count; j++)
                    {
                        _unclaimed.Enqueue(_unclaimed.Dequeue());
                    }

                    return Task.FromResult(due);
                }

                _unclaimed.Enqueue(due);
            }

            var waiter = (match, new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously));
            _waiters.Add(waiter);
            return waiter.Item2.Task.WaitAsync(TimeSpan.FromMinutes(1));
        }
    }

    /// <summary>Drops the schedules made so far, so that a wait counts only later ones.</summary>
    public void ForgetScheduled()
    {
        lock (_lock)
        {
            _unclaimed.Clear();
        }
    }

    /// <summary>Completes when a timer is scheduled to fire after exactly <paramref name="due"/>.</summary>
    public Task ScheduledAsync(TimeSpan due) => ScheduledAsync(d => d == due);

    private void OnScheduled(TimeSpan due)
    {
        if (due == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        TaskCompletionSource<TimeSpan>? claimed = null;
        lock (_lock)
        {
            var index = _waiters.FindIndex(w => w.Match(due));
            if (index >= 0)
            {
                claimed = _waiters[index].Scheduled;
                _waiters.RemoveAt(index);
            }
            else
            {
                if (_unclaimed.Count == MaxUnclaimed)
                {
                    _unclaimed.Dequeue();
                }

                _unclaimed.Enqueue(due);
            }
        }

        claimed?.TrySetResult(due);
    }

    private sealed class ObservedTimer(ObservedClock clock, ITimer timer) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var changed = timer.Change(dueTime, period);
            clock.OnScheduled(dueTime);
            return changed;
        }

        public void Dispose() => timer.Dispose();

        public ValueTask DisposeAsync() => timer.DisposeAsync();
    }
}

using StackExchange.Redis;

namespace LlmMiddleware.Redis;

/// <summary>
/// This instance's slices of the current minute's windows in Redis (<see cref="RedisGovernanceOptions.WindowLease"/>):
/// permits taken in Redis ahead of calls, as far as they fit under the limit, then spent here without a round trip.
/// Token corrections are settled into the slice too. A limit is never exceeded — a slice is counted in Redis when it is
/// taken — but what is left of a slice when its minute ends goes unused: at most one slice per window per instance, and
/// the token estimates its calls handed back.
/// </summary>
internal sealed class WindowLeases(double fraction)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<RedisKey, Slice> _slices = [];
    private long _minute;

    /// <summary>How many permits beyond a call's to ask for in <paramref name="key"/>: what tops its slice up (none for
    /// a limit too small to slice). What is asked is owed back to <see cref="Settle"/>.</summary>
    public long Ask(RedisKey key, long limit, long minute)
    {
        var size = (long)(limit * fraction);
        lock (_lock)
        {
            if (size < 2 || Current(minute) is not { } slices)
            {
                return 0;
            }

            if (!slices.TryGetValue(key, out var slice))
            {
                slices[key] = slice = new Slice();
            }

            var ask = Math.Max(size - slice.Left - slice.Asked, 0);
            slice.Asked += ask;
            return ask;
        }
    }

    /// <summary>Takes a call's permits from its windows' slices if each has enough, all or none; returns each window's
    /// remaining permits as this instance knows them (Redis's at the last refill, plus the slice), or <see langword="null"/>.</summary>
    public long[]? TryTake(List<Counted> windows, long minute)
    {
        lock (_lock)
        {
            if (Current(minute) is not { } slices)
            {
                return null;
            }

            foreach (var window in windows)
            {
                if (!slices.TryGetValue(window.Key, out var slice) || slice.Left < window.Amount)
                {
                    return null;
                }
            }

            var remaining = new long[windows.Count];
            for (var i = 0; i < windows.Count; i++)
            {
                var slice = slices[windows[i].Key];
                slice.Left -= windows[i].Amount;
                remaining[i] = slice.Remaining + slice.Left;
            }

            return remaining;
        }
    }

    /// <summary>Adds what Redis <paramref name="granted"/> of what was <paramref name="asked"/> (nothing when the call was
    /// refused or Redis unreachable) and notes Redis's <paramref name="remaining"/> permits; returns what the slice holds.</summary>
    public long Settle(RedisKey key, long minute, long asked, long granted, long? remaining)
    {
        lock (_lock)
        {
            if (Current(minute)?.GetValueOrDefault(key) is not { } slice)
            {
                return 0;
            }

            (slice.Asked, slice.Left, slice.Remaining) = (slice.Asked - asked, slice.Left + granted, remaining ?? slice.Remaining);
            return slice.Left;
        }
    }

    /// <summary>Takes a call's token correction into the window's slice as far as it can — tokens used past the estimate
    /// paid from the slice, tokens not used given back to it (they were counted in Redis when the slice or the call took
    /// them) — and returns the rest, for Redis.</summary>
    public long Absorb(RedisKey key, long minute, long delta)
    {
        lock (_lock)
        {
            if (Current(minute)?.GetValueOrDefault(key) is not { } slice)
            {
                return delta;
            }

            var absorbed = delta > 0 ? Math.Min(delta, slice.Left) : delta;
            slice.Left -= absorbed;
            return delta - absorbed;
        }
    }

    /// <summary>The slices of <paramref name="minute"/>, a new minute's starting empty; none for a minute gone by.</summary>
    private Dictionary<RedisKey, Slice>? Current(long minute)
    {
        if (minute > _minute)
        {
            _slices.Clear();
            _minute = minute;
        }

        return minute == _minute ? _slices : null;
    }

    private sealed class Slice
    {
        public long Left;
        public long Asked;
        public long Remaining;
    }
}

using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace LlmMiddleware.Governance.Limits;

/// <summary>
/// Rate limits counted in this instance's memory, on <see cref="MinuteWindowLimiter"/>s and System.Threading.RateLimiting's
/// <see cref="ConcurrencyLimiter"/>. Limiters idle past their window are dropped once there are many, so subjects
/// callers choose (request users, say) cannot grow memory without bound.
/// </summary>
internal sealed class InMemoryLimitCounters(TimeProvider time) : ILimitCounters
{
    private const int SweepAbove = 50_000;
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(2);

    private readonly ConcurrentDictionary<(LlmRateLimitScope, string), SubjectLimiters> _subjects = new();

    public ValueTask<LimitAdmission> TryTakeAsync(LimitSubject[] subjects, string callId, long tokens, DateTimeOffset now)
    {
        var limited = new SubjectLimiters[subjects.Length];
        var count = 0;
        for (var i = 0; i < subjects.Length; i++)
        {
            limited[i] = For(subjects[i]);
            count += (limited[i].Concurrent is null ? 0 : 1) + (limited[i].Requests is null ? 0 : 1) + (limited[i].Tokens is null ? 0 : 1);
        }

        var hold = new InMemoryLimitHold(tokens, count);
        var (requests, tokenWindows) = (LimitAdmission.None, LimitAdmission.None);
        for (var i = 0; i < subjects.Length; i++)
        {
            var (limiters, rule) = (limited[i], subjects[i].Rule);
            if (limiters.Concurrent is { } concurrent)
            {
                var lease = concurrent.AttemptAcquire();
                if (!lease.IsAcquired)
                {
                    return Refused(subjects[i], $"{rule.MaxConcurrentRequests} requests at once", TimeSpan.FromSeconds(1));
                }

                hold.Add(new(null, 0, lease));
            }

            if (limiters.Requests is { } perMinute)
            {
                var taken = perMinute.TryTake(1, out var state);
                requests = LimitAdmission.Tighter(requests, state);
                if (!taken)
                {
                    return Refused(subjects[i], $"{rule.RequestsPerMinute} requests per minute", state.ResetIn);
                }

                hold.Add(new(perMinute, state.Window, null));
            }

            if (limiters.Tokens is { } tokensPerMinute)
            {
                var taken = tokensPerMinute.TryTake(tokens, out var state);
                tokenWindows = LimitAdmission.Tighter(tokenWindows, state);
                if (!taken)
                {
                    return Refused(subjects[i], $"{rule.TokensPerMinute} tokens per minute (this call may use {tokens})", state.ResetIn);
                }

                hold.Add(new(tokensPerMinute, state.Window, null, Tokens: true));
            }
        }

        return new(new LimitAdmission { Hold = hold, Requests = requests, Tokens = tokenWindows });

        ValueTask<LimitAdmission> Refused(LimitSubject subject, string limit, TimeSpan retryAfter)
        {
            hold.Refund();
            return new(new LimitAdmission { RefusedBy = subject, RefusedLimit = limit, RetryAfter = retryAfter, Requests = requests, Tokens = tokenWindows });
        }
    }

    private SubjectLimiters For(LimitSubject subject)
    {
        if (!_subjects.TryGetValue((subject.Scope, subject.Subject), out var limiters))
        {
            if (_subjects.Count > SweepAbove)
            {
                foreach (var (key, idle) in _subjects)
                {
                    if (idle.IdleFor >= Idle)
                    {
                        _subjects.TryRemove(key, out _);
                    }
                }
            }

            limiters = _subjects.GetOrAdd((subject.Scope, subject.Subject), static (_, time) => new SubjectLimiters(time), time);
        }

        return limiters.Match(subject.Rule);
    }

    /// <summary>A permit one call took here: a window's count, or a concurrency lease.</summary>
    private readonly record struct Taken(MinuteWindowLimiter? Window, long Minute, RateLimitLease? Lease, bool Tokens = false);

    /// <summary>The permits one call took here, in one array sized to its limits.</summary>
    private sealed class InMemoryLimitHold(long estimate, int capacity) : LimitHold(estimate)
    {
        private readonly Taken[] _taken = new Taken[capacity];
        private int _count;

        public void Add(Taken taken) => _taken[_count++] = taken;

        public override void CorrectTokens(long delta)
        {
            foreach (var taken in _taken.AsSpan(0, _count))
            {
                if (taken.Tokens)
                {
                    taken.Window!.Adjust(taken.Minute, delta);
                }
            }
        }

        public override void Release()
        {
            foreach (var taken in _taken.AsSpan(0, _count))
            {
                taken.Lease?.Dispose();
            }
        }

        public override void Refund()
        {
            foreach (var taken in _taken.AsSpan(0, _count))
            {
                taken.Window?.Adjust(taken.Minute, taken.Tokens ? -Estimate : -1);
            }

            Release();
        }
    }
}

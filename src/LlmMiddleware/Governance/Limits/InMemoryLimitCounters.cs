using System.Collections.Concurrent;

namespace LlmMiddleware.Governance.Limits;

/// <summary>
/// Rate limits counted in this instance's memory, on <see cref="MinuteWindowLimiter"/>s and <see cref="SlotLimiter"/>s. Limiters idle past their window are dropped once there are many, so subjects
/// callers choose (request users, say) cannot grow memory without bound.
/// </summary>
internal sealed class InMemoryLimitCounters(TimeProvider time) : ILimitCounters
{
    private const int SweepAbove = 50_000;
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(2);

    private readonly ConcurrentDictionary<(LlmRateLimitScope, string), SubjectLimiters> _subjects = new();

    public ValueTask<LimitAdmission> TryTakeAsync(LimitSubject[] subjects, long tokens, DateTimeOffset now)
    {
        var count = 0;
        foreach (var subject in subjects)
        {
            // A subject's limiters are made to match its rule: one per limit the rule sets.
            count += (subject.Rule.MaxConcurrentRequests is null ? 0 : 1) + (subject.Rule.RequestsPerMinute is null ? 0 : 1) + (subject.Rule.TokensPerMinute is null ? 0 : 1);
        }

        var hold = new InMemoryLimitHold(tokens, count);
        var (requests, tokenWindows) = (LimitAdmission.None, LimitAdmission.None);
        for (var i = 0; i < subjects.Length; i++)
        {
            var (limiters, rule) = (For(subjects[i]), subjects[i].Rule);
            if (limiters.Concurrent is { } concurrent)
            {
                if (!concurrent.TryEnter())
                {
                    return Refused(subjects[i], $"{rule.MaxConcurrentRequests} requests at once", TimeSpan.FromSeconds(1));
                }

                hold.Add(new(concurrent, 0));
            }

            if (limiters.Requests is { } perMinute)
            {
                var taken = perMinute.TryTake(1, out var state);
                requests = LimitAdmission.Tighter(requests, state);
                if (!taken)
                {
                    return Refused(subjects[i], $"{rule.RequestsPerMinute} requests per minute", state.ResetIn);
                }

                hold.Add(new(perMinute, state.Window));
            }

            if (limiters.Tokens is { } tokensPerMinute)
            {
                var taken = tokensPerMinute.TryTake(tokens, out var state);
                tokenWindows = LimitAdmission.Tighter(tokenWindows, state);
                if (!taken)
                {
                    return Refused(subjects[i], $"{rule.TokensPerMinute} tokens per minute (this call may use {tokens})", state.ResetIn);
                }

                hold.Add(new(tokensPerMinute, state.Window));
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

    /// <summary>A permit one call took here: a window's count (<see cref="MinuteWindowLimiter"/>, and the window), or a slot (<see cref="SlotLimiter"/>).</summary>
    private readonly record struct Taken(object Permit, long Minute);

    /// <summary>Room for the permits of one subject's three limits, inside the hold: no array for the common case.</summary>
    [System.Runtime.CompilerServices.InlineArray(3)]
    private struct ThreeTaken
    {
        private Taken _first;
    }

    /// <summary>The permits one call took here: up to three inline, more in an array.</summary>
    private sealed class InMemoryLimitHold(long estimate, int capacity) : LimitHold(estimate)
    {
        private ThreeTaken _inline;
        private readonly Taken[]? _more = capacity > 3 ? new Taken[capacity] : null;
        private int _count;

        private Span<Taken> All => _more is null ? ((Span<Taken>)_inline)[.._count] : _more.AsSpan(0, _count);

        public void Add(Taken taken)
        {
            if (_more is null)
            {
                _inline[_count++] = taken;
            }
            else
            {
                _more[_count++] = taken;
            }
        }

        public override void CorrectTokens(long delta)
        {
            foreach (var taken in All)
            {
                if (taken.Permit is MinuteWindowLimiter { CountsTokens: true } tokens)
                {
                    tokens.Adjust(taken.Minute, delta);
                }
            }
        }

        public override void Release()
        {
            foreach (var taken in All)
            {
                (taken.Permit as SlotLimiter)?.Exit();
            }
        }

        public override void Refund()
        {
            foreach (var taken in All)
            {
                if (taken.Permit is MinuteWindowLimiter window)
                {
                    window.Adjust(taken.Minute, window.CountsTokens ? -Estimate : -1);
                }
            }

            Release();
        }
    }
}

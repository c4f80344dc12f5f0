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
        var hold = new InMemoryLimitHold(tokens);
        var (requests, tokenWindows) = (LimitAdmission.None, LimitAdmission.None);
        foreach (var subject in subjects)
        {
            var limiters = For(subject);
            var rule = subject.Rule;
            if (limiters.Concurrent is { } concurrent)
            {
                var lease = concurrent.AttemptAcquire();
                if (!lease.IsAcquired)
                {
                    return Refused(subject, $"{rule.MaxConcurrentRequests} requests at once", TimeSpan.FromSeconds(1));
                }

                hold.Leases.Add(lease);
            }

            if (limiters.Requests is { } perMinute)
            {
                var taken = perMinute.TryTake(1, out var state);
                requests = LimitAdmission.Tighter(requests, state);
                if (!taken)
                {
                    return Refused(subject, $"{rule.RequestsPerMinute} requests per minute", state.ResetIn);
                }

                hold.Requests.Add((perMinute, state.Window));
            }

            if (limiters.Tokens is { } tokensPerMinute)
            {
                var taken = tokensPerMinute.TryTake(tokens, out var state);
                tokenWindows = LimitAdmission.Tighter(tokenWindows, state);
                if (!taken)
                {
                    return Refused(subject, $"{rule.TokensPerMinute} tokens per minute (this call may use {tokens})", state.ResetIn);
                }

                hold.Tokens.Add((tokensPerMinute, state.Window));
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

    /// <summary>The permits one call took here.</summary>
    private sealed class InMemoryLimitHold(long estimate) : ILimitHold
    {
        public List<(MinuteWindowLimiter Limiter, long Window)> Requests { get; } = [];

        public List<(MinuteWindowLimiter Limiter, long Window)> Tokens { get; } = [];

        public List<RateLimitLease> Leases { get; } = [];

        public void CorrectTokens(long delta)
        {
            foreach (var (limiter, window) in Tokens)
            {
                limiter.Adjust(window, delta);
            }
        }

        public void Release()
        {
            foreach (var lease in Leases)
            {
                lease.Dispose();
            }
        }

        public void Refund()
        {
            foreach (var (limiter, window) in Requests)
            {
                limiter.Adjust(window, -1);
            }

            CorrectTokens(-estimate);
            Release();
        }
    }
}

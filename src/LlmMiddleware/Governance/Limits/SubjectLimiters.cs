using System.Threading.RateLimiting;

namespace LlmMiddleware.Governance.Limits;

/// <summary>One subject's limiters, made as the limit in force needs them and resized when it changes.</summary>
internal sealed class SubjectLimiters(TimeProvider time)
{
    private readonly Lock _lock = new();

    public LlmRateLimit Rule { get; private set; } = null!;

    public MinuteWindowLimiter? Requests { get; private set; }

    public MinuteWindowLimiter? Tokens { get; private set; }

    public ConcurrencyLimiter? Concurrent { get; private set; }

    /// <summary>How long no call has used these limiters; zero while calls are in flight.</summary>
    public TimeSpan IdleFor
    {
        get
        {
            var idle = TimeSpan.MaxValue;
            foreach (var limiter in (RateLimiter?[])[Requests, Tokens, Concurrent])
            {
                // A concurrency limiter with permits out is not idle: its IdleDuration is null.
                if (limiter is not null && (limiter.IdleDuration ?? TimeSpan.Zero) is var duration && duration < idle)
                {
                    idle = duration;
                }
            }

            return idle;
        }
    }

    public SubjectLimiters Match(LlmRateLimit rule)
    {
        if (ReferenceEquals(Rule, rule))
        {
            return this;
        }

        lock (_lock)
        {
            if (rule.RequestsPerMinute is { } rpm)
            {
                (Requests ??= new MinuteWindowLimiter(time, rpm)).Limit = rpm;
            }

            if (rule.TokensPerMinute is { } tpm)
            {
                (Tokens ??= new MinuteWindowLimiter(time, tpm)).Limit = tpm;
            }

            if (rule.MaxConcurrentRequests is { } concurrent && Rule?.MaxConcurrentRequests != concurrent)
            {
                // Calls holding the old limiter's permits release them there.
                Concurrent = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = concurrent, QueueLimit = 0 });
            }

            (Requests, Tokens, Concurrent) = (rule.RequestsPerMinute is null ? null : Requests, rule.TokensPerMinute is null ? null : Tokens, rule.MaxConcurrentRequests is null ? null : Concurrent);
            Rule = rule;
        }

        return this;
    }
}

namespace LlmMiddleware.Governance.Limits;

/// <summary>One subject's limiters, made as the limit in force needs them and resized when it changes.</summary>
internal sealed class SubjectLimiters(TimeProvider time)
{
    private readonly Lock _lock = new();

    public LlmRateLimit Rule { get; private set; } = null!;

    public MinuteWindowLimiter? Requests { get; private set; }

    public MinuteWindowLimiter? Tokens { get; private set; }

    public SlotLimiter? Concurrent { get; private set; }

    /// <summary>How long no call has used these limiters; zero while calls are in flight.</summary>
    public TimeSpan IdleFor
    {
        get
        {
            // A slot limiter with calls in flight is not idle: its IdleDuration is null.
            var idle = Concurrent is null ? TimeSpan.MaxValue : Concurrent.IdleDuration ?? TimeSpan.Zero;
            foreach (var window in (MinuteWindowLimiter?[])[Requests, Tokens])
            {
                if (window is not null && window.IdleDuration < idle)
                {
                    idle = window.IdleDuration;
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
                (Tokens ??= new MinuteWindowLimiter(time, tpm) { CountsTokens = true }).Limit = tpm;
            }

            if (rule.MaxConcurrentRequests is { } concurrent && Rule?.MaxConcurrentRequests != concurrent)
            {
                // Calls holding the old limiter's permits release them there.
                Concurrent = new SlotLimiter(time, concurrent);
            }

            (Requests, Tokens, Concurrent) = (rule.RequestsPerMinute is null ? null : Requests, rule.TokensPerMinute is null ? null : Tokens, rule.MaxConcurrentRequests is null ? null : Concurrent);
            Rule = rule;
        }

        return this;
    }
}

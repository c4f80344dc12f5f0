using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Threading.RateLimiting;

namespace LlmMiddleware.Governance.Limits;

/// <summary>
/// The rate limits in force and the limiters of every subject counted under them — for each scope, the limit naming the
/// subject, else the scope's <c>*</c> limit. Limiters idle past their window are dropped once there are many, so
/// subjects callers choose (request users, say) cannot grow it without bound.
/// </summary>
internal sealed class LimitBook(TimeProvider time)
{
    private const int SweepAbove = 50_000;
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(2);

    private readonly ConcurrentDictionary<(LlmRateLimitScope, string), SubjectLimiters> _subjects = new();
    private Rules _rules = Rules.Empty;

    public IReadOnlyList<LlmRateLimit> Limits => _rules.All;

    public LlmRateLimitScope[] Scopes => Volatile.Read(ref _rules).Scopes;

    public bool IsEmpty => _rules.All.Length == 0;

    public void Replace(IEnumerable<LlmRateLimit> limits) => Volatile.Write(ref _rules, new Rules([.. limits.Select(l => l.Clone())]));

    /// <summary>The limiters counting <paramref name="subject"/>'s calls, matched to the limit in force; null when none applies.</summary>
    public SubjectLimiters? For(LlmRateLimitScope scope, string subject)
    {
        if (Volatile.Read(ref _rules).Of(scope, subject) is not { } rule)
        {
            return null;
        }

        if (!_subjects.TryGetValue((scope, subject), out var limiters))
        {
            if (_subjects.Count > SweepAbove)
            {
                Sweep();
            }

            limiters = _subjects.GetOrAdd((scope, subject), static (_, time) => new SubjectLimiters(time), time);
        }

        return limiters.Match(rule);
    }

    private void Sweep()
    {
        foreach (var (key, limiters) in _subjects)
        {
            if (limiters.IdleFor >= Idle)
            {
                _subjects.TryRemove(key, out _);
            }
        }
    }

    private sealed class Rules
    {
        public static readonly Rules Empty = new([]);

        private readonly FrozenDictionary<(LlmRateLimitScope, string), LlmRateLimit> _named;
        private readonly FrozenDictionary<LlmRateLimitScope, LlmRateLimit> _each;

        public Rules(LlmRateLimit[] all)
        {
            All = all;
            Scopes = [.. all.Select(l => l.Scope).Distinct()];
            // The last given for a slot wins.
            _each = all.Where(l => l.Subject == "*").GroupBy(l => l.Scope).ToFrozenDictionary(g => g.Key, g => g.Last());
            _named = all.Where(l => l.Subject != "*").GroupBy(l => (l.Scope, l.Subject)).ToFrozenDictionary(g => g.Key, g => g.Last());
        }

        public LlmRateLimit[] All { get; }

        public LlmRateLimitScope[] Scopes { get; }

        public LlmRateLimit? Of(LlmRateLimitScope scope, string subject) =>
            _named.TryGetValue((scope, subject), out var named) ? named : _each.GetValueOrDefault(scope);
    }
}

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

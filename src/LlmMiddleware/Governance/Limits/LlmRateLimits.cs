using System.ComponentModel.DataAnnotations;
using LlmMiddleware.Governance.Limits;

namespace LlmMiddleware;

/// <summary>
/// The rate limits in force. Set, change and remove them while the gateway runs; a subject's counts in the current
/// window are kept when its limit changes. Registered by <c>AddRateLimits()</c>.
/// </summary>
public sealed class LlmRateLimits
{
    private readonly Lock _writes = new();

    internal LlmRateLimits(LimitBook book, ILimitCounters counters, LlmRateLimitOptions options, TimeProvider time)
    {
        Book = book;
        Counters = counters;
        Options = options;
        Time = time;
    }

    internal LimitBook Book { get; }

    internal ILimitCounters Counters { get; }

    internal LlmRateLimitOptions Options { get; }

    internal TimeProvider Time { get; }

    /// <summary>The limits in force (copies).</summary>
    public IReadOnlyList<LlmRateLimit> List() => [.. Book.Limits.Select(l => l.Clone())];

    /// <summary>Adds <paramref name="limit"/>, or replaces the one of the same scope and subject.</summary>
    public void Set(LlmRateLimit limit)
    {
        ArgumentNullException.ThrowIfNull(limit);
        Validator.ValidateObject(limit, new ValidationContext(limit), validateAllProperties: true);
        if (!limit.LimitsAnything)
        {
            throw new ArgumentException("Set at least one of RequestsPerMinute, TokensPerMinute and MaxConcurrentRequests.", nameof(limit));
        }

        lock (_writes)
        {
            Book.Replace([.. Book.Limits.Where(l => !SameSlot(l, limit.Scope, limit.Subject)), limit]);
        }
    }

    /// <summary>Removes the limit of <paramref name="scope"/> and <paramref name="subject"/>; returns whether there was one.</summary>
    public bool Remove(LlmRateLimitScope scope, string subject)
    {
        lock (_writes)
        {
            var before = Book.Limits.Count;
            Book.Replace([.. Book.Limits.Where(l => !SameSlot(l, scope, subject))]);
            return Book.Limits.Count != before;
        }
    }

    private static bool SameSlot(LlmRateLimit limit, LlmRateLimitScope scope, string subject) =>
        limit.Scope == scope && string.Equals(limit.Subject, subject, StringComparison.Ordinal);
}

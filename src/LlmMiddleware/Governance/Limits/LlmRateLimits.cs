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

    internal LlmRateLimits(LimitBook book, ILimitCounters counters, LlmRateLimitOptions options, TimeProvider time, ILlmGovernanceRuleStore? store)
    {
        Store = store;
        Book = book;
        Counters = counters;
        Options = options;
        Time = time;
    }

    internal LimitBook Book { get; }

    /// <summary>The shared rule store, if any: changes go there, and reach every instance from it.</summary>
    internal ILlmGovernanceRuleStore? Store { get; }

    internal ILimitCounters Counters { get; }

    internal LlmRateLimitOptions Options { get; }

    internal TimeProvider Time { get; }

    /// <summary>The limits in force (copies).</summary>
    public IReadOnlyList<LlmRateLimit> List() => [.. Book.Limits.Select(l => l.Clone())];

    /// <summary>Adds <paramref name="limit"/>, or replaces the one of the same scope and subject — on every instance
    /// when a shared rule store is registered.</summary>
    public async ValueTask SetAsync(LlmRateLimit limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(limit);
        Validator.ValidateObject(limit, new ValidationContext(limit), validateAllProperties: true);
        if (!limit.LimitsAnything)
        {
            throw new ArgumentException("Set at least one of RequestsPerMinute, TokensPerMinute and MaxConcurrentRequests.", nameof(limit));
        }

        if (Store is not null)
        {
            await Store.SetRateLimitAsync(limit.Clone(), cancellationToken).ConfigureAwait(false);
        }

        lock (_writes)
        {
            Book.Replace([.. Book.Limits.Where(l => !SameSlot(l, limit.Scope, limit.Subject)), limit]);
        }
    }

    /// <summary>Removes the limit of <paramref name="scope"/> and <paramref name="subject"/> (on every instance, with a
    /// shared rule store); returns whether there was one.</summary>
    public async ValueTask<bool> RemoveAsync(LlmRateLimitScope scope, string subject, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subject);
        var stored = Store is not null && await Store.RemoveRateLimitAsync(scope, subject, cancellationToken).ConfigureAwait(false);
        lock (_writes)
        {
            var before = Book.Limits.Count;
            Book.Replace([.. Book.Limits.Where(l => !SameSlot(l, scope, subject))]);
            return stored || Book.Limits.Count != before;
        }
    }

    private static bool SameSlot(LlmRateLimit limit, LlmRateLimitScope scope, string subject) =>
        limit.Scope == scope && string.Equals(limit.Subject, subject, StringComparison.Ordinal);
}

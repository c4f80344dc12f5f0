using System.Threading.RateLimiting;

namespace LlmMiddleware;

/// <summary>Rate limits (configuration section <c>LlmGateway:RateLimits</c>); change them at run time with <see cref="LlmRateLimits"/>.</summary>
public sealed class LlmRateLimitOptions
{
    /// <summary>The configuration section rate limits are bound to.</summary>
    public const string SectionName = "LlmGateway:RateLimits";

    /// <summary>The limits.</summary>
    public IList<LlmRateLimit> Rules { get; set; } = [];

    /// <summary>Whether admitted calls get OpenAI's <c>x-ratelimit-*</c> headers for the tightest limit that applies; on by default.</summary>
    public bool EmitHeaders { get; set; } = true;

    /// <summary>
    /// The host's own limiters, run before the rules above for every call (one permit each, released when the call ends):
    /// any <see cref="PartitionedRateLimiter{TResource}"/> — built with <see cref="PartitionedRateLimiter.Create{TResource, TPartitionKey}"/>
    /// or chained — over the call. A refusal is a 429 with its <see cref="MetadataName.RetryAfter"/>.
    /// </summary>
    public IList<PartitionedRateLimiter<LlmRequestContext>> Limiters { get; } = [];

    /// <summary>Adds a limit.</summary>
    public LlmRateLimitOptions Add(LlmRateLimitScope scope, string subject, int? requestsPerMinute = null, long? tokensPerMinute = null, int? maxConcurrentRequests = null)
    {
        Rules.Add(new LlmRateLimit { Scope = scope, Subject = subject, RequestsPerMinute = requestsPerMinute, TokensPerMinute = tokensPerMinute, MaxConcurrentRequests = maxConcurrentRequests });
        return this;
    }
}

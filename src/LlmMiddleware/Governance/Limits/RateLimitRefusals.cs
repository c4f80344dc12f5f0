using System.Diagnostics.Metrics;
using System.Globalization;
using LlmMiddleware.Telemetry;
using Microsoft.Extensions.Logging;

namespace LlmMiddleware.Governance.Limits;

/// <summary>Makes a rate-limit refusal — 429 <c>rate_limit_exceeded</c> with <c>retry-after</c> — and says so in a log line and a metric.</summary>
internal sealed partial class RateLimitRefusals
{
    private readonly ILogger<RateLimitRefusals> _logger;
    private readonly Counter<long> _refusals;

    public RateLimitRefusals(IMeterFactory meters, ILogger<RateLimitRefusals> logger)
    {
        _logger = logger;
        _refusals = meters.Create(LlmGatewayTelemetry.Name).CreateCounter<long>("llm_gateway.rate_limit.refusals", "{request}", "Calls refused by a rate limit, by llm_gateway.rate_limit.scope (key, team, user, app, tag, model, group, or host for the host's limiters).");
    }

    public LlmGatewayException Refuse(LlmRequestContext context, LlmRateLimitScope? scope, string subject, string limit, TimeSpan retryAfter)
    {
        var scopeName = scope?.ToString().ToLowerInvariant() ?? "host";
        Log.Refused(_logger, scopeName, subject, limit);
        _refusals.Add(1, new KeyValuePair<string, object?>("llm_gateway.rate_limit.scope", scopeName));
        var headers = context.HttpContext.Response.Headers;
        headers.RetryAfter = Math.Max(Math.Ceiling(retryAfter.TotalSeconds), 1).ToString(CultureInfo.InvariantCulture);
        headers["retry-after-ms"] = Math.Max(Math.Ceiling(retryAfter.TotalMilliseconds), 1).ToString(CultureInfo.InvariantCulture);
        var who = scope is null ? subject : $"{scopeName} '{subject}'";
        return new LlmGatewayException(new LlmError(LlmErrorKind.RateLimit, $"Rate limit reached for {who}: {limit}. Try again in {RateLimitHeaders.Duration(retryAfter)}.")
        {
            Code = LlmErrorCodes.RateLimitExceeded,
        });
    }

    private static partial class Log
    {
        [LoggerMessage(33, LogLevel.Information, "A call was refused by the rate limit of {Scope} '{Subject}': {Limit}.", EventName = "RateLimited")]
        public static partial void Refused(ILogger logger, string scope, string subject, string limit);
    }
}

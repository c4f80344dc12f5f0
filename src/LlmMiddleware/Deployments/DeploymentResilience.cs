using System.Globalization;
using System.Net;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace LlmMiddleware.Deployments;

/// <summary>
/// The per-deployment Polly pipeline: retries with exponential backoff and jitter that honour <c>Retry-After</c>, inside
/// which a circuit breaker puts a repeatedly failing deployment in cooldown (skipped, then probed).
/// </summary>
internal static class DeploymentResilience
{
    public static ResiliencePipeline<HttpResponseMessage> Build(LlmModelGroupOptions group, LlmDeployment deployment, TimeProvider timeProvider, ICooldownBroadcast[] broadcasts)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider };
        if (group.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = group.MaxRetries,
                Delay = group.RetryDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,

                // Retry on the same deployment only when the provider does not ask for a longer wait than allowed.
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome) && !(RetryAfter(args.Outcome.Result, timeProvider) > group.MaxRetryDelay)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result, timeProvider)),
            });
        }

        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
        {
            FailureRatio = group.Cooldown.FailureRatio,
            MinimumThroughput = group.Cooldown.MinimumThroughput,
            SamplingDuration = group.Cooldown.SamplingDuration,
            BreakDuration = group.Cooldown.Duration,
            StateProvider = deployment.Circuit,
            ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
            OnOpened = args =>
            {
                deployment.CoolingUntil = timeProvider.GetUtcNow() + args.BreakDuration;
                Broadcast(deployment, broadcasts);
                return ValueTask.CompletedTask;
            },
            OnClosed = _ =>
            {
                deployment.CoolingUntil = null;
                Broadcast(deployment, broadcasts);
                return ValueTask.CompletedTask;
            },
        });
        return builder.Build();
    }

    private static void Broadcast(LlmDeployment deployment, ICooldownBroadcast[] broadcasts)
    {
        foreach (var broadcast in broadcasts)
        {
            broadcast.Changed(deployment);
        }
    }

    /// <summary>Failures worth another try: rate limits, overload, server errors, timeouts and broken connections.</summary>
    public static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome.Exception switch
    {
        HttpRequestException => true,
        LlmGatewayException { Error.Kind: LlmErrorKind.Timeout } => true,
        OperationCanceledException => false,
        null => outcome.Result is { } response && IsTransient(response.StatusCode),
        _ => false,
    };

    public static bool IsTransient(HttpStatusCode status) => (int)status is 408 or 429 or 529 || (int)status >= 500;

    /// <summary>A day: beyond it a <c>retry-after-ms</c> is not a delay but garbage.</summary>
    private const double MaxRetryAfterMilliseconds = 86_400_000;

    private static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeProvider timeProvider)
    {
        if (response is null)
        {
            return null;
        }

        // A provider's number, in the invariant culture, and only a sane one: "1e20", "Infinity" or "-5" are ignored.
        if (response.Headers.TryGetValues("retry-after-ms", out var values) &&
            double.TryParse(values.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) &&
            ms is >= 0 and <= MaxRetryAfterMilliseconds)
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        return response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - timeProvider.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
            _ => null,
        };
    }
}

using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace LlmMiddleware.Telemetry;

/// <summary>
/// Metrics and traces of LLM calls, named after the OpenTelemetry GenAI semantic conventions where they exist
/// (<c>gen_ai.client.operation.duration</c>, <c>gen_ai.client.token.usage</c>, <c>gen_ai.*</c> attributes), with
/// gateway-specific instruments for routing (<c>llm_gateway.*</c>); metering metrics are <see cref="LlmUsageMetrics"/>'s. Meter and activity source: <c>LlmMiddleware</c>.
/// </summary>
internal sealed class LlmGatewayTelemetry : IDisposable
{
    public const string Name = "LlmMiddleware";

    private static readonly double[] DurationBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly double[] TimeToFirstTokenBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
    private static readonly long[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304];

    private readonly Meter _meter;
    private readonly Histogram<double> _duration;
    private readonly Histogram<long> _tokens;
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _fallbacks;
    private readonly Histogram<double> _timeToFirstToken;

    /// <summary>The metric tag value standing for model names no provider has vouched for.</summary>
    internal const string OtherModel = "_other";

    public LlmGatewayTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        _duration = _meter.CreateHistogram("gen_ai.client.operation.duration", "s", "Duration of LLM calls through the gateway.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _tokens = _meter.CreateHistogram("gen_ai.client.token.usage", "{token}", "Tokens used by LLM calls through the gateway.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = TokenBuckets });
        _attempts = _meter.CreateCounter<long>("llm_gateway.attempts", "{attempt}", "Upstream attempts, by deployment and outcome.");
        _fallbacks = _meter.CreateCounter<long>("llm_gateway.fallbacks", "{fallback}", "Hand-overs from a failed deployment to the next candidate.");
        _timeToFirstToken = _meter.CreateHistogram("gen_ai.server.time_to_first_token", "s", "Time from a streamed request's receipt to its first content sent to the caller, for successful streams.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = TimeToFirstTokenBuckets });
    }

    public static ActivitySource ActivitySource { get; } = new(Name);

    /// <summary>Publishes the state of model-group deployments as gauges (cooling down, requests in flight).</summary>
    public void ObserveDeployments(Func<IEnumerable<LlmDeployment>> deployments, TimeProvider timeProvider)
    {
        _meter.CreateObservableGauge(
            "llm_gateway.deployment.cooling_down",
            () => deployments().Select(d => new Measurement<int>(d.IsCoolingDown(timeProvider.GetUtcNow()) ? 1 : 0, Tags(d))),
            "{deployment}",
            "1 while a model-group deployment is cooling down after repeated failures.");
        _meter.CreateObservableGauge(
            "llm_gateway.deployment.in_flight",
            () => deployments().Select(d => new Measurement<int>(d.InFlight, Tags(d))),
            "{request}",
            "Requests in flight to a model-group deployment.");

        static TagList Tags(LlmDeployment deployment) => new()
        {
            { "llm_gateway.group", deployment.Group },
            { "llm_gateway.deployment", deployment.Name },
            { "gen_ai.provider.name", deployment.Provider },
        };
    }

    /// <summary>Starts the span of a call; it ends named as the GenAI conventions name client spans: "{operation} {model}".</summary>
    public static Activity? StartCall(LlmRequestContext context)
    {
        if (!ActivitySource.HasListeners())
        {
            return null;
        }

        // Named once the request is parsed and its model known (see RecordCall).
        var activity = ActivitySource.StartActivity(context.OperationName, ActivityKind.Client);
        activity?.SetTag("gen_ai.operation.name", context.OperationName);
        return activity;
    }

    public void RecordAttempt(LlmAttempt attempt, bool handedOver)
    {
        if (_attempts.Enabled)
        {
            _attempts.Add(1, new TagList
            {
                { "llm_gateway.deployment", attempt.Deployment },
                { "gen_ai.provider.name", attempt.Provider },
                { "llm_gateway.attempt.outcome", attempt.Outcome switch { LlmAttemptOutcome.Succeeded => "succeeded", LlmAttemptOutcome.Cancelled => "cancelled", _ => "failed" } },
            });
        }

        if (handedOver && _fallbacks.Enabled)
        {
            _fallbacks.Add(1, new TagList { { "llm_gateway.deployment", attempt.Deployment }, { "gen_ai.provider.name", attempt.Provider } });
        }

        // On a span that is exported (the call's, or the request's when the host traces it): ASP.NET Core starts a
        // request activity whenever logging is on, and events on it would only cost.
        if (Activity.Current is { Recorded: true } span)
        {
            span.AddEvent(new ActivityEvent("llm_gateway.attempt", tags: new ActivityTagsCollection
            {
                ["llm_gateway.deployment"] = attempt.Deployment,
                ["http.response.status_code"] = attempt.StatusCode,
                ["llm_gateway.attempt.outcome"] = attempt.Outcome.ToString(),
            }));
        }
    }

    /// <summary>Records a finished call on the metrics and on its span.</summary>
    public void RecordCall(LlmRequestContext context, Activity? activity)
    {
        var errorType = context.Error is { } error ? error.Code ?? error.Kind.ToString() : context.ClientDisconnected ? "client_disconnected" : null;
        if (activity is not null)
        {
            activity.DisplayName = $"{context.OperationName} {context.RequestedModel}";
            activity.SetTag("gen_ai.request.model", context.RequestedModel);
            activity.SetTag("gen_ai.provider.name", context.ProviderName);
            activity.SetTag("gen_ai.response.model", context.UpstreamModel);
            activity.SetTag("llm_gateway.deployment", context.Deployment?.Name);
            activity.SetTag("gen_ai.usage.input_tokens", InputTokens(context));
            activity.SetTag("gen_ai.usage.output_tokens", OutputTokens(context));
            if (context.Record?.Cost is { } cost)
            {
                activity.SetTag("llm_gateway.cost", (double)cost);
            }

            if (context.Experiment is { } experiment)
            {
                activity.SetTag("llm_gateway.experiment", experiment.Experiment);
                activity.SetTag("llm_gateway.experiment.arm", experiment.Arm);
            }

            activity.SetTag("llm_gateway.task", context.Task);
            if (errorType is not null)
            {
                activity.SetTag("error.type", errorType);
                activity.SetStatus(ActivityStatusCode.Error, context.Error?.Message);
            }

            activity.Dispose();
        }

        if (!_duration.Enabled && !_tokens.Enabled && !_timeToFirstToken.Enabled)
        {
            return;
        }

        // Spans carry any model name; metrics only names a provider has vouched for (it answered, other than "no such
        // model"), or a caller's made-up names would make every metric's series unbounded.
        var vouched = context.CacheHit is not null || context.UpstreamStatusCode is { } status && status is not (400 or 404);
        var tags = new TagList
        {
            { "gen_ai.operation.name", context.OperationName },
            { "gen_ai.provider.name", context.ProviderName },
            { "gen_ai.request.model", vouched ? context.RequestedModel : OtherModel },
            { "gen_ai.response.model", vouched ? context.UpstreamModel : OtherModel },
        };
        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        if (context.Duration is { } duration)
        {
            _duration.Record(duration.TotalSeconds, tags);
        }

        if (errorType is null && context.Request.Stream && context.TimeToFirstToken is { } firstToken)
        {
            _timeToFirstToken.Record(firstToken.TotalSeconds, tags);
        }

        if (_tokens.Enabled && InputTokens(context) + OutputTokens(context) > 0)
        {
            var input = tags;
            input.Add("gen_ai.token.type", "input");
            _tokens.Record(InputTokens(context), input);
            var output = tags;
            output.Add("gen_ai.token.type", "output");
            _tokens.Record(OutputTokens(context), output);
        }
    }

    // The metered (settled) counts: the provider's, or the tokenizer's where the provider reported none.
    private static long InputTokens(LlmRequestContext context) => context.Record?.InputTokens ?? context.Usage.InputTokens;

    private static long OutputTokens(LlmRequestContext context) => context.Record?.OutputTokens ?? context.Usage.OutputTokens;

    public void Dispose() => _meter.Dispose();
}

using LlmMiddleware.Caching;
using LlmMiddleware.Caching.Semantic;
using LlmMiddleware.Identity;
using LlmMiddleware.Metering;
using LlmMiddleware.Pipeline;
using LlmMiddleware.Protocols;
using LlmMiddleware.Providers;
using LlmMiddleware.Routing;
using LlmMiddleware.Telemetry;
using LlmMiddleware.Upstream;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Gateway;

/// <summary>
/// Call framing: each call's context (a feature of its <see cref="HttpContext"/>), span and cost headers; its pipeline
/// of stages ending in the router (<see cref="UpstreamSender"/>) for chat; a failure before the pipeline answered in the
/// caller's protocol; and its end (record, span, completion callbacks). Preparing the request is
/// <see cref="CallPreparation"/>'s work; YARP routes use the same pieces around YARP's own forwarding.
/// </summary>
internal sealed partial class CallFraming
{
    private readonly CallPreparation _preparation;
    private readonly UpstreamSender _sender;
    private readonly LlmCallPipeline _pipeline;
    private readonly MeteringStage _metering;
    private readonly HooksStage _hooks;
    private readonly LlmResponseCache _cache;
    private readonly LlmMeter _meter;
    private readonly LlmGatewayTelemetry _telemetry;
    private readonly LlmGatewayOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<CallFraming> _logger;
    private readonly LlmCallDelegate _sendPrepared;
    private readonly Func<LlmRequestContext, CancellationToken, ValueTask<(LlmRoute Route, List<LlmDeployment>? Candidates)>> _resolve;
    private readonly Action<Exception> _completionFailed;

    public CallFraming(CallPreparation preparation, UpstreamSender sender, LlmCallPipeline pipeline, MeteringStage metering, HooksStage hooks, LlmResponseCache cache, LlmMeter meter, LlmRouter router, LlmGatewayTelemetry telemetry, IOptions<LlmGatewayOptions> options, TimeProvider timeProvider, ILogger<CallFraming> logger)
    {
        _preparation = preparation;
        _sender = sender;
        _pipeline = pipeline;
        _metering = metering;
        _hooks = hooks;
        _cache = cache;
        _meter = meter;
        _telemetry = telemetry;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _sendPrepared = SendPreparedAsync; // delegates made once, not per call
        _resolve = preparation.ResolveAsync;
        _completionFailed = ex => Log.CompletionFailed(logger, ex);
        telemetry.ObserveDeployments(() => router.Deployments, timeProvider);
    }

    public LlmProviderRegistry Registry => _preparation.Registry;

    /// <summary>Request preparation: routes, upstream bodies (for calls framed outside the chat path: embeddings).</summary>
    public CallPreparation Preparation => _preparation;

    /// <summary>The tokenizers the gateway counts with.</summary>
    public LlmTokenizers Tokenizers => _meter.Tokenizers;

    public LlmMeter Meter => _meter;

    public LlmGatewayOptions Options => _options;

    public TimeProvider TimeProvider => _timeProvider;

    public LlmResponseCache Cache => _cache;

    public UpstreamSender Sender => _sender;

    /// <summary>A gateway endpoint's chat call: routed by the model the caller names.</summary>
    public Task HandleChatAsync(HttpContext http, LlmProtocol inbound) => RunChatAsync(http, inbound, _resolve, routeCachePolicy: null);

    /// <summary>
    /// A YARP route that names a model group: the same call as on the gateway endpoints (pipeline and router), routed
    /// through <paramref name="group"/> whatever model the caller names, under the route's cache policy.
    /// </summary>
    public Task HandleGroupRouteAsync(HttpContext http, LlmProtocol inbound, string group, RouteCachePolicy cachePolicy) =>
        RunChatAsync(http, inbound, (context, token) => _preparation.RouteGroupAsync(context, group, token), cachePolicy);

    /// <summary>
    /// A YARP route on one provider, run from the proxy pipeline (<c>UseLlmPipeline()</c>): the same framing and
    /// stages, with <paramref name="forward"/> — YARP's own forwarding of the prepared call — as the last step.
    /// </summary>
    public Task HandleProxiedAsync(HttpContext http, LlmProtocol inbound, Func<LlmRequestContext, CancellationToken, ValueTask<(LlmRoute Route, List<LlmDeployment>? Candidates)>> resolve, RouteCachePolicy cachePolicy, Func<LlmRequestContext, PreparedCall, ValueTask> forward) =>
        RunChatAsync(http, inbound, resolve, cachePolicy, async (context, aborted) =>
        {
            var call = (PreparedCall)context.UpstreamState!;
            await _preparation.RetargetAsync(context, call, call.Route, aborted).ConfigureAwait(false);
            await forward(context, call).ConfigureAwait(false);
        });

    // The chat call's framing is written out (not RunAsync with a lambda): one async frame and closure less per call.
    private async Task RunChatAsync(HttpContext http, LlmProtocol inbound, Func<LlmRequestContext, CancellationToken, ValueTask<(LlmRoute Route, List<LlmDeployment>? Candidates)>> resolve, RouteCachePolicy? routeCachePolicy, LlmCallDelegate? upstream = null)
    {
        var (context, activity) = Begin(http, inbound, LlmOperationNames.Chat);
        var aborted = http.RequestAborted;
        try
        {
            if (routeCachePolicy is not null)
            {
                http.Features.Set(routeCachePolicy);
            }

            using var call = await _preparation.ReadAsync(context, resolve, aborted).ConfigureAwait(false);
            context.UpstreamState = call;
            await InvokePipelineAsync(context, upstream ?? _sendPrepared, aborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not LlmStreamAbortedException)
        {
            await LlmCallPipeline.AnswerAsync(context, ex, _options, _logger, aborted).ConfigureAwait(false);
        }
        finally
        {
            await CompleteAsync(context, _pipeline.Meters, activity).ConfigureAwait(false);
        }
    }

    /// <summary>Whether <paramref name="name"/> is a configured model group.</summary>
    public bool IsGroup(string name) => _preparation.IsGroup(name);

    /// <summary>Runs the host's stages around <paramref name="upstream"/>, the call's last step.</summary>
    public ValueTask InvokePipelineAsync(LlmRequestContext context, LlmCallDelegate upstream, CancellationToken aborted)
    {
        context.Upstream = upstream;
        return _pipeline.InvokeAsync(context, aborted);
    }

    /// <summary>The chat pipeline's last step: the router's, writing the upstream body and sending it.</summary>
    private ValueTask SendPreparedAsync(LlmRequestContext context, CancellationToken aborted)
    {
        var call = (PreparedCall)context.UpstreamState!;
        var retarget = _preparation.RetargetAsync(context, call, call.Route, aborted);
        return retarget.IsCompletedSuccessfully ? new ValueTask(_sender.SendAsync(context, call, aborted)) : RetargetThenSendAsync(retarget, context, call, aborted);
    }

    private async ValueTask RetargetThenSendAsync(ValueTask retarget, LlmRequestContext context, PreparedCall call, CancellationToken aborted)
    {
        await retarget.ConfigureAwait(false); // remote images being inlined
        await _sender.SendAsync(context, call, aborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Frames one call: its context (set as a feature), span and cost headers; <paramref name="work"/> prepares it and
    /// runs the pipeline; a failure before the pipeline is answered in the caller's protocol; and once it is over,
    /// the call is recorded if it never reached the metering stage, and the completion callbacks run.
    /// </summary>
    public async Task RunAsync(HttpContext http, LlmProtocol inbound, string operation, Func<LlmRequestContext, CancellationToken, Task> work)
    {
        var (context, activity) = Begin(http, inbound, operation);
        var aborted = http.RequestAborted;
        try
        {
            await work(context, aborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not LlmStreamAbortedException)
        {
            await LlmCallPipeline.AnswerAsync(context, ex, _options, _logger, aborted).ConfigureAwait(false);
        }
        finally
        {
            await CompleteAsync(context, _pipeline.Meters, activity).ConfigureAwait(false);
        }
    }

    private (LlmRequestContext Context, System.Diagnostics.Activity? Activity) Begin(HttpContext http, LlmProtocol inbound, string operation)
    {
        var context = new LlmRequestContext(http, inbound, operation, _timeProvider)
        {
            Caller = http.Features.Get<LlmCallerFeature>()?.Caller,
            Task = (http.Features.Get<LlmTaskAttribute>() ?? http.GetEndpoint()?.Metadata.GetMetadata<LlmTaskAttribute>())?.Task, // the route's
        };
        if (http.Features.Get<JudgeCallFeature>() is { } judge)
        {
            (context.Experiment, context.IsJudgeCall) = (judge.Judged, true);
        }

        http.Features.Set<ILlmRequestFeature>(new LlmRequestFeature(context));
        _meter.Begin(context);
        return (context, LlmGatewayTelemetry.StartCall(context));
    }

    /// <summary>
    /// A YARP route's call (which does not run the pipeline yet): <see cref="CallPreparation.ReadAsync"/>, what the hooks and
    /// response cache stages do before the router (their completion runs in <see cref="CompleteAsync"/>), an
    /// answer from the response cache under <paramref name="cachePolicy"/> when it can (then <see langword="null"/>:
    /// the response is written), and otherwise the upstream body.
    /// </summary>
    public async ValueTask<PreparedCall?> PrepareCallAsync(LlmRequestContext context, Func<LlmRequestContext, CancellationToken, ValueTask<(LlmRoute Route, List<LlmDeployment>? Candidates)>> resolve, ResolvedCachePolicy? cachePolicy, CancellationToken cancellationToken)
    {
        var call = await _preparation.ReadAsync(context, resolve, cancellationToken).ConfigureAwait(false);
        try
        {
            await _hooks.BeforeAsync(context, cancellationToken).ConfigureAwait(false);

            // Looked up before the upstream body is written (and remote images fetched): a hit needs neither.
            if (await _cache.TryServeAsync(context, cachePolicy, cancellationToken).ConfigureAwait(false))
            {
                call.Dispose();
                return null;
            }

            await _preparation.RetargetAsync(context, call, call.Route, cancellationToken).ConfigureAwait(false);
            return call;
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Ends a call once it is over: records it if it never reached the metering stage (and <paramref name="record"/>),
    /// closes its span and runs its completion callbacks (the cache's store, the hooks' <c>OnCompletedAsync</c>).
    /// </summary>
    public async ValueTask CompleteAsync(LlmRequestContext context, bool record, System.Diagnostics.Activity? activity = null)
    {
        context.MarkEnd();
        if (record)
        {
            _metering.Record(context); // once: a call refused before the pipeline (unreadable, unknown model) is recorded too
        }

        _telemetry.RecordCall(context, activity);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            LogCompletion(context);
        }

        await context.RunCompletedAsync(_completionFailed).ConfigureAwait(false);
    }

    private void LogCompletion(LlmRequestContext context) => Log.CallCompleted(
        _logger,
        context.OperationName,
        context.RequestedModel,
        context.ProviderName,
        context.UpstreamModel,
        context.IsPassthrough ? "passthrough" : "translated",
        context.UpstreamStatusCode,
        context.Error?.Kind,
        context.ClientDisconnected,
        context.Duration?.TotalMilliseconds);

    private static partial class Log
    {
        [LoggerMessage(3, LogLevel.Error, "An LLM call's completion callback failed.", EventName = "CompletionFailed")]
        public static partial void CompletionFailed(ILogger logger, Exception exception);

        [LoggerMessage(4, LogLevel.Debug, "LLM {Operation} call for {Model} via {Provider}/{UpstreamModel} ({Mode}) ended: upstream status {Status}, error {Error}, client disconnected {Disconnected}, {DurationMs} ms.", EventName = "CallCompleted")]
        public static partial void CallCompleted(ILogger logger, string operation, string model, string? provider, string? upstreamModel, string mode, int? status, LlmErrorKind? error, bool disconnected, double? durationMs);
    }
}

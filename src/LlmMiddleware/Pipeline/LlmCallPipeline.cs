using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using LlmMiddleware.Gateway;
using LlmMiddleware.Metering;
using LlmMiddleware.Protocols;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Pipeline;

/// <summary>What the host chose with <c>ConfigurePipeline</c> and <c>AddStage</c>.</summary>
internal sealed class LlmCallPipelineOptions
{
    /// <summary>The whole order, when the host gave one; otherwise metering, virtual keys and experiments (when added), hooks, the response cache, rate limits and budgets (when added).</summary>
    public Action<LlmCallPipelineBuilder>? Order { get; set; }

    /// <summary>Stages added with <c>AddStage</c>, after the others and before the router.</summary>
    public List<Action<LlmCallPipelineBuilder>> Added { get; } = [];
}

/// <summary>
/// The stages composed once, outermost first, ending in the call's upstream step (<see cref="LlmRequestContext.Upstream"/>:
/// the router for chat, the embeddings sender for embeddings). Each stage runs inside a boundary that answers a
/// failure from further in, in the caller's protocol, so the stages around it see a finished call with
/// <see cref="LlmRequestContext.Error"/> set rather than an exception.
/// </summary>
internal sealed partial class LlmCallPipeline
{
    private readonly LlmCallDelegate _entry;
    private readonly LlmGatewayOptions _options;
    private readonly ILogger<LlmCallPipeline> _logger;

    public LlmCallPipeline(IServiceProvider services, IOptions<LlmCallPipelineOptions> pipeline, IOptions<LlmGatewayOptions> options, ILogger<LlmCallPipeline> logger)
    {
        _options = options.Value;
        _logger = logger;
        var builder = new LlmCallPipelineBuilder();
        var keys = services.GetKeyedService<LlmCallStage>(BuiltInStages.VirtualKeys);
        var limits = services.GetKeyedService<LlmCallStage>(BuiltInStages.RateLimits);
        var budgets = services.GetKeyedService<LlmCallStage>(BuiltInStages.Budgets);
        var experiments = services.GetKeyedService<LlmCallStage>(BuiltInStages.Experiments);
        (pipeline.Value.Order ?? (b => DefaultOrder(b, keys is not null, experiments is not null, limits is not null, budgets is not null)))(builder);
        foreach (var added in pipeline.Value.Added)
        {
            added(builder);
        }

        var stages = builder.Stages.ConvertAll(factory => factory(services));
        // Fail at start-up rather than serve every caller unchecked, or hold budgets that nothing settles.
        Require(stages, keys, "Virtual keys are registered (AddVirtualKeys()) but the pipeline set by ConfigurePipeline leaves out UseVirtualKeys(): no call would be checked.");
        Require(stages, limits, "Rate limits are registered (AddRateLimits()) but the pipeline set by ConfigurePipeline leaves out UseRateLimits(): no call would be limited.");
        Require(stages, budgets, "Budgets are registered (AddBudgets()) but the pipeline set by ConfigurePipeline leaves out UseBudgets(): no call would be charged.");
        Require(stages, experiments, "Experiments are registered (AddExperiments()) but the pipeline set by ConfigurePipeline leaves out UseExperiments(): their calls would all go to their control arms.");
        MeteredBefore(stages, limits, "UseRateLimits()");
        MeteredBefore(stages, budgets, "UseBudgets()");
        foreach (var fusion in services.GetServices<IStageFusion>())
        {
            fusion.Fuse(stages);
        }

        Meters = stages.Exists(s => s.RecordsCalls);
        EditsRequests = stages.Exists(s => s.EditsRequest);
        // The outermost step needs no boundary of its own: the framing answers whatever escapes the pipeline.
        LlmCallDelegate next = stages.Count == 0
            ? static (context, cancellationToken) => context.Upstream!(context, cancellationToken)
            : (context, cancellationToken) => GuardAsync(null, context, null!, cancellationToken);
        for (var i = stages.Count - 1; i >= 0; i--)
        {
            var (stage, inner) = (stages[i], next);
            // A stage with nothing to do for a call is skipped with its boundary: the next boundary in answers for it.
            next = i == 0
                ? (context, cancellationToken) => stage.PassesThrough(context) ? inner(context, cancellationToken) : stage.InvokeAsync(context, inner, cancellationToken)
                : (context, cancellationToken) => stage.PassesThrough(context) ? inner(context, cancellationToken) : GuardAsync(stage, context, inner, cancellationToken);
        }

        _entry = next;
    }

    private static void DefaultOrder(LlmCallPipelineBuilder builder, bool keys, bool experiments, bool limits, bool budgets)
    {
        builder.UseMetering();
        if (keys)
        {
            builder.UseVirtualKeys();
        }

        if (experiments)
        {
            builder.UseExperiments();
        }

        builder.UseHooks().UseResponseCache();
        if (limits)
        {
            builder.UseRateLimits();
        }

        if (budgets)
        {
            builder.UseBudgets();
        }
    }

    private static void Require(List<LlmCallStage> stages, LlmCallStage? registered, string message)
    {
        if (registered is not null && !stages.Contains(registered))
        {
            throw new InvalidOperationException(message);
        }
    }

    /// <summary>A governance stage holds what only metering's record settles: metering must run around it.</summary>
    private static void MeteredBefore(List<LlmCallStage> stages, LlmCallStage? stage, string name)
    {
        if (stage is not null && stages.FindIndex(s => s.RecordsCalls) is var metering && (metering < 0 || metering > stages.IndexOf(stage)))
        {
            throw new InvalidOperationException($"{name} settles what metering records: put UseMetering() before it.");
        }
    }

    /// <summary>Whether the pipeline records calls: the framing then records a call that failed before reaching it.</summary>
    public bool Meters { get; }

    /// <summary>Whether any stage may change the request, which rules out passthrough.</summary>
    public bool EditsRequests { get; }

    public ValueTask InvokeAsync(LlmRequestContext context, CancellationToken cancellationToken) => _entry(context, cancellationToken);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask GuardAsync(LlmCallStage? stage, LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        try
        {
            await (stage is null ? context.Upstream!(context, cancellationToken) : stage.InvokeAsync(context, next, cancellationToken)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not LlmStreamAbortedException)
        {
            await AnswerAsync(context, ex, _options, _logger, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Answers a failure in the caller's protocol if the response has not started: a refusal or provider error as it
    /// is, an unforeseen fault as a logged 500 <c>gateway_error</c>; a caller that went away is only noted. Rethrows a
    /// fault after the response has started (the server then aborts the connection).
    /// </summary>
    public static async ValueTask AnswerAsync(LlmRequestContext context, Exception exception, LlmGatewayOptions options, ILogger logger, CancellationToken aborted)
    {
        var http = context.HttpContext;
        if (exception is LlmGatewayException refusal)
        {
            context.Error = refusal.Error;
        }
        else if (exception is OperationCanceledException && aborted.IsCancellationRequested)
        {
            context.ClientDisconnected = true;
            return;
        }
        else if (!http.Response.HasStarted)
        {
            Log.CallFailed(logger, exception);
            context.Error = new LlmError(LlmErrorKind.Server, "The gateway failed to process the request.", 500) { Code = LlmErrorCodes.GatewayError };
        }
        else
        {
            ExceptionDispatchInfo.Throw(exception);
        }

        if (!http.Response.HasStarted)
        {
            if (options.EmitRouteHeaders)
            {
                RouteHeaders.Write(context);
            }

            await context.Codec.WriteErrorAsync(http.Response, context.Error!, aborted).ConfigureAwait(false);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(6, LogLevel.Error, "An LLM call failed with an unexpected error.", EventName = "CallFailed")]
        public static partial void CallFailed(ILogger logger, Exception exception);
    }
}

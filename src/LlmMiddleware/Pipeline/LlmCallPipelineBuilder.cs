using LlmMiddleware.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware;

/// <summary>
/// The order of the LLM call pipeline's stages, outermost first, given to <c>ConfigurePipeline</c>. The router (model
/// groups, strategies, fallbacks, retries, cooldowns, racing) always comes last. A stage left out does not run.
/// </summary>
public sealed class LlmCallPipelineBuilder
{
    internal List<Func<IServiceProvider, LlmCallStage>> Stages { get; } = [];

    /// <summary>Records every call (cost, usage, the ledger's sinks); usually first, so that refusals and cache hits
    /// are recorded too.</summary>
    public LlmCallPipelineBuilder UseMetering() => Use(static sp => sp.GetRequiredKeyedService<LlmCallStage>(BuiltInStages.Metering));

    /// <summary>Lets a call through only with a valid virtual key allowed its model, and attributes it to that key
    /// (needs <c>AddVirtualKeys()</c>); usually right after metering, before anything that should not run for a
    /// caller without a key.</summary>
    public LlmCallPipelineBuilder UseVirtualKeys() => Use(static sp => sp.GetKeyedService<LlmCallStage>(BuiltInStages.VirtualKeys)
        ?? throw new InvalidOperationException("UseVirtualKeys() needs the virtual key services: call AddVirtualKeys() on the gateway builder."));

    /// <summary>Assigns a call naming an experiment to one of its arms and sends it there, and labels calls with their
    /// task (needs <c>AddExperiments()</c>); usually right after virtual keys, before anything that depends on where
    /// the call goes (the response cache, rate limits by model, budgets).</summary>
    public LlmCallPipelineBuilder UseExperiments() => Use(static sp => sp.GetKeyedService<LlmCallStage>(BuiltInStages.Experiments)
        ?? throw new InvalidOperationException("UseExperiments() needs the experiment services: call AddExperiments() on the gateway builder."));

    /// <summary>Admits a call only within its rate limits (requests and tokens per minute, calls at once) and the host's
    /// limiters (needs <c>AddRateLimits()</c>, and metering before it); usually after the response cache.</summary>
    public LlmCallPipelineBuilder UseRateLimits() => Use(static sp => sp.GetKeyedService<LlmCallStage>(BuiltInStages.RateLimits)
        ?? throw new InvalidOperationException("UseRateLimits() needs the rate limit services: call AddRateLimits() on the gateway builder."));

    /// <summary>Admits a call only if its worst-case cost fits its caller's budgets and settles the metered cost after
    /// (needs <c>AddBudgets()</c>, and metering before it); usually after the response cache, so hits cost nothing.</summary>
    public LlmCallPipelineBuilder UseBudgets() => Use(static sp => sp.GetKeyedService<LlmCallStage>(BuiltInStages.Budgets)
        ?? throw new InvalidOperationException("UseBudgets() needs the budget services: call AddBudgets() on the gateway builder."));

    /// <summary>Runs the registered <see cref="LlmGatewayHook"/>s: <c>OnRequestAsync</c> here, <c>OnCompletedAsync</c>
    /// once the call is complete and metered.</summary>
    public LlmCallPipelineBuilder UseHooks() => Use(static sp => sp.GetRequiredService<HooksStage>());

    /// <summary>Answers from the response cache (exact, then semantic) under the endpoint's policy, and stores what
    /// the rest of the pipeline answers.</summary>
    public LlmCallPipelineBuilder UseResponseCache() => Use(static sp => sp.GetRequiredKeyedService<LlmCallStage>(BuiltInStages.ResponseCache));

    /// <summary>Adds a stage resolved from the services (registered or not).</summary>
    public LlmCallPipelineBuilder Use<TStage>()
        where TStage : LlmCallStage => Use(static sp => ActivatorUtilities.GetServiceOrCreateInstance<TStage>(sp));

    /// <summary>Adds a stage instance.</summary>
    public LlmCallPipelineBuilder Use(LlmCallStage stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return Use(_ => stage);
    }

    /// <summary>Adds a stage written as a lambda: <c>(context, next, cancellationToken) => ...</c>. Pass
    /// <paramref name="editsRequest"/> <see langword="false"/> if it never changes the request (see <see cref="LlmCallStage.EditsRequest"/>).</summary>
    public LlmCallPipelineBuilder Use(Func<LlmRequestContext, LlmCallDelegate, CancellationToken, ValueTask> stage, bool editsRequest = true)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return Use(new LambdaStage(stage, editsRequest));
    }

    private LlmCallPipelineBuilder Use(Func<IServiceProvider, LlmCallStage> factory)
    {
        Stages.Add(factory);
        return this;
    }

    private sealed class LambdaStage(Func<LlmRequestContext, LlmCallDelegate, CancellationToken, ValueTask> stage, bool editsRequest) : LlmCallStage
    {
        public override bool EditsRequest => editsRequest;

        public override ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken) => stage(context, next, cancellationToken);
    }
}

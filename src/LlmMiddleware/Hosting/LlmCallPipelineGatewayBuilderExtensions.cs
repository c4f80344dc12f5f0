using LlmMiddleware;
using LlmMiddleware.Pipeline;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Composes the LLM call pipeline. With no extra code it is metering, hooks, the response cache, then the router;
/// <c>AddStage</c> puts the host's stages between the response cache and the router, and <c>ConfigurePipeline</c>
/// sets the whole order, leaving out what the host does not want.
/// </summary>
public static class LlmCallPipelineGatewayBuilderExtensions
{
    /// <summary>Sets the order of the pipeline's stages, outermost first; stages left out do not run. Stages added with
    /// <c>AddStage</c> still follow them, before the router.</summary>
    /// <example><code>gateway.ConfigurePipeline(p => p.UseMetering().UseHooks().UseResponseCache().Use&lt;BudgetStage&gt;());</code></example>
    public static ILlmGatewayBuilder ConfigurePipeline(this ILlmGatewayBuilder builder, Action<LlmCallPipelineBuilder> order)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(order);
        builder.Services.Configure<LlmCallPipelineOptions>(o => o.Order = order);
        return builder;
    }

    /// <summary>Adds a stage, resolved from the services, between the response cache and the router (in registration order).</summary>
    public static ILlmGatewayBuilder AddStage<TStage>(this ILlmGatewayBuilder builder)
        where TStage : LlmCallStage => Add(builder, static p => p.Use<TStage>());

    /// <summary>Adds a stage instance between the response cache and the router (in registration order).</summary>
    public static ILlmGatewayBuilder AddStage(this ILlmGatewayBuilder builder, LlmCallStage stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return Add(builder, p => p.Use(stage));
    }

    /// <summary>Adds a lambda stage, <c>(context, next, cancellationToken) => ...</c>, between the response cache and
    /// the router (in registration order). See <see cref="LlmCallStage.EditsRequest"/> for <paramref name="editsRequest"/>.</summary>
    public static ILlmGatewayBuilder AddStage(this ILlmGatewayBuilder builder, Func<LlmRequestContext, LlmCallDelegate, CancellationToken, ValueTask> stage, bool editsRequest = true)
    {
        ArgumentNullException.ThrowIfNull(stage);
        return Add(builder, p => p.Use(stage, editsRequest));
    }

    private static ILlmGatewayBuilder Add(ILlmGatewayBuilder builder, Action<LlmCallPipelineBuilder> add)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure<LlmCallPipelineOptions>(o => o.Added.Add(add));
        return builder;
    }
}

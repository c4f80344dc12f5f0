using System.Runtime.CompilerServices;

namespace LlmMiddleware.Caching;

/// <summary>
/// The pipeline stage of the response cache: answers a chat call from the cache under its endpoint's (or YARP route's) policy when it
/// can, and otherwise lets it through and stores its answer once the call is complete and metered (the entry carries
/// the call's cost), which also releases the identical calls waiting for it.
/// </summary>
internal sealed class ResponseCacheStage(LlmResponseCache cache) : LlmCallStage
{
    public override bool EditsRequest => false;

    public override ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken) =>
        PolicyFor(context) is { } policy ? ServeOrPassAsync(context, next, policy, cancellationToken) : next(context, cancellationToken);

    internal override bool PassesThrough(LlmRequestContext context) => PolicyFor(context) is null;

    private ResolvedCachePolicy? PolicyFor(LlmRequestContext context) =>
        context.OperationName is not (LlmOperationNames.Chat or LlmOperationNames.Embeddings) ? null
            : context.HttpContext.Features.Get<RouteCachePolicy>() is { } route ? route.Policy
            : cache.PolicyFor(context.HttpContext);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ServeOrPassAsync(LlmRequestContext context, LlmCallDelegate next, ResolvedCachePolicy policy, CancellationToken cancellationToken)
    {
        if (!await cache.TryServeAsync(context, policy, cancellationToken).ConfigureAwait(false))
        {
            await next(context, cancellationToken).ConfigureAwait(false);
        }
    }
}

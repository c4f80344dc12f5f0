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

    public override ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        var policy = context.OperationName != LlmOperationNames.Chat ? null
            : context.RouteCachePolicy is { } route ? route.Policy
            : cache.PolicyFor(context.HttpContext);
        return policy is null ? next(context, cancellationToken) : ServeOrPassAsync(context, next, policy, cancellationToken);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ServeOrPassAsync(LlmRequestContext context, LlmCallDelegate next, ResolvedCachePolicy policy, CancellationToken cancellationToken)
    {
        if (!await TryServeAsync(cache, context, policy, cancellationToken).ConfigureAwait(false))
        {
            await next(context, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Answers from the cache under <paramref name="policy"/> if it can, and otherwise arranges for the answer
    /// to be stored; also what a YARP route does.</summary>
    public static ValueTask<bool> TryServeAsync(LlmResponseCache cache, LlmRequestContext context, ResolvedCachePolicy? policy, CancellationToken cancellationToken)
    {
        // Registered first, so waiters elected behind this call are released whatever happens to it.
        context.OnCompleted(
            static (context, cache) =>
            {
                ((LlmResponseCache)cache!).Complete(context);
                return ValueTask.CompletedTask;
            },
            cache);
        return cache.TryServeAsync(context, policy, cancellationToken);
    }
}

using LlmMiddleware.Identity;

namespace LlmMiddleware.Governance;

/// <summary>
/// Lets a call through only with a valid virtual key (or a host-authenticated principal the host maps to one) allowed
/// the requested model, and makes the key the call's caller — the identity metering, the cache's tenant scope and the
/// limits after it use. A call the gateway makes for itself on a caller's behalf (the semantic cache's embeddings)
/// already carries that caller and is not checked again.
/// </summary>
internal sealed class VirtualKeysStage(VirtualKeyIndex index) : LlmCallStage
{
    public override bool EditsRequest => false;

    public override ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        if (context.HttpContext.Features.Get<LlmCallerFeature>() is null)
        {
            var key = index.Authenticate(context.HttpContext);
            if (!key.Allows(context.RequestedModel))
            {
                throw new LlmGatewayException(new LlmError(LlmErrorKind.Permission, $"API key {key.Key.Id} may not use the model '{context.RequestedModel}'.")
                {
                    Code = LlmErrorCodes.ModelNotAllowed,
                    Param = "model",
                });
            }

            context.Caller = key.IdentityFor(context.Request.User);
        }

        return next(context, cancellationToken);
    }
}

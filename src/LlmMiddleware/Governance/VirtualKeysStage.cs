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
            var key = Admit(index, context.HttpContext, context.RequestedModel);
            if (context.Request.Routing is { } routing)
            {
                // A caller's fallback models are models it asks for: each needs the key's leave as much as the first.
                foreach (var fallback in routing.Models)
                {
                    Admit(index, context.HttpContext, fallback, "models");
                }
            }

            context.Caller = key.IdentityFor(context.Request.User);
        }

        return next(context, cancellationToken);
    }

    /// <summary>The caller's valid key, if it may use <paramref name="model"/>; otherwise the refusal (401, or 403
    /// <c>model_not_allowed</c>). Also for requests outside the pipeline (<c>count_tokens</c>).</summary>
    public static VirtualKeyEntry Admit(VirtualKeyIndex index, Microsoft.AspNetCore.Http.HttpContext http, string model, string param = "model")
    {
        var key = index.Authenticate(http);
        return key.Allows(model) ? key : throw new LlmGatewayException(new LlmError(LlmErrorKind.Permission, $"API key {key.Key.Id} may not use the model '{model}'.")
        {
            Code = LlmErrorCodes.ModelNotAllowed,
            Param = param,
        });
    }
}

using LlmMiddleware.Metering;
using LlmMiddleware.Pipeline;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.Gemini;
using LlmMiddleware.Protocols.OpenAI;
using LlmMiddleware.Providers;
using LlmMiddleware.Routing;
using LlmMiddleware.Utilities;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Upstream;

/// <summary>
/// Request preparation: reads and parses the caller's body, resolves its route (a model group's candidates in order),
/// and writes the upstream body for a route — the caller's bytes with the model rewritten (passthrough) while nothing
/// may have edited the request and the provider speaks the caller's protocol, a translated request otherwise.
/// </summary>
internal sealed class CallPreparation
{
    private readonly LlmProviderRegistry _registry;
    private readonly LlmRouter _router;
    private readonly LlmMeter _meter;
    private readonly RemoteImageInliner _images;
    private readonly LlmGatewayOptions _options;
    private readonly bool _requestsMayChange;
    private readonly IModelRedirect[] _redirects;
    private readonly LlmOutputGuard[]? _guards;

    public CallPreparation(LlmProviderRegistry registry, LlmRouter router, LlmMeter meter, RemoteImageInliner images, IOptions<LlmGatewayOptions> options, LlmCallPipeline pipeline, HooksStage hooks, IEnumerable<IModelRedirect> redirects, Guardrails.OutputGuards guards)
    {
        _guards = guards.Active;
        _redirects = [.. redirects];
        _registry = registry;
        _router = router;
        _meter = meter;
        _images = images;
        _options = options.Value;

        // A stage or hook that may edit the request rules out forwarding the caller's bytes as they are (YARP routes run
        // the hooks themselves, for now); so does an output guard, which must see and may rewrite every answer.
        _requestsMayChange = pipeline.EditsRequests || hooks.EditsRequest || _guards is not null;
    }

    /// <summary>A model group is routed by its strategy and the routing hooks; any other name is an alias or <c>provider/model</c>.</summary>
    public LlmProviderRegistry Registry => _registry;

    public ValueTask<(LlmRoute Route, List<LlmDeployment>? Candidates)> ResolveAsync(LlmRequestContext context, CancellationToken cancellationToken) =>
        ResolveAsync(context, context.Request.Model, cancellationToken);

    /// <summary>Resolves <paramref name="model"/> for the call, as <see cref="ResolveAsync(LlmRequestContext, CancellationToken)"/> does its own.</summary>
    public async ValueTask<(LlmRoute Route, List<LlmDeployment>? Candidates)> ResolveAsync(LlmRequestContext context, string model, CancellationToken cancellationToken)
    {
        if (_options.PerRequestRouting && context.Request.Routing is { } routing)
        {
            // The gateway does the routing the fields ask for: they are not the provider's to see.
            context.Request.UnmodeledFields?.RemoveAll(f => f.Key is "models" or "provider");
            return ToRoute(context, await RouteAsRequestedAsync(context, model, routing, cancellationToken).ConfigureAwait(false));
        }

        model = Redirect(model);
        if (!_router.IsGroup(model))
        {
            var (provider, upstreamModel) = _registry.Resolve(model);
            return (new LlmRoute(provider, upstreamModel), null);
        }

        return await RouteGroupAsync(context, model, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Orders <paramref name="group"/>'s deployments for the call (strategy, routing hooks, pricing policy).</summary>
    public async ValueTask<(LlmRoute Route, List<LlmDeployment>? Candidates)> RouteGroupAsync(LlmRequestContext context, string group, CancellationToken cancellationToken) =>
        ToRoute(context, await _router.RouteAsync(group, context, cancellationToken).ConfigureAwait(false));

    private string Redirect(string model)
    {
        foreach (var redirect in _redirects)
        {
            model = redirect.Redirect(model) ?? model;
        }

        return model;
    }

    /// <summary>
    /// The caller's own routing (<see cref="LlmRequestRouting"/>): the request's model, then each of its fallback
    /// models, each a group's deployments or a directly named model, with the caller's provider preferences applied to
    /// each model's share. Only what the host configured can be reached; a model none of whose deployments is left is
    /// skipped, and the caller is refused only if nothing is left at all.
    /// </summary>
    private async ValueTask<List<LlmDeployment>> RouteAsRequestedAsync(LlmRequestContext context, string model, LlmRequestRouting routing, CancellationToken cancellationToken)
    {
        var candidates = new List<LlmDeployment>();
        LlmGatewayException? unfit = null;
        RequestNeeds? needs = null; // once: the router's prompt count when a group was routed, else a count of its own
        foreach (var name in routing.Models.Prepend(model).Distinct(StringComparer.OrdinalIgnoreCase).Select(Redirect))
        {
            List<LlmDeployment> share;
            try
            {
                share = _router.IsGroup(name) ? await _router.RouteAsync(name, context, cancellationToken).ConfigureAwait(false) : [Direct(name)];
            }
            catch (LlmGatewayException ex) when (ex.Error.Code == LlmErrorCodes.NoDeploymentFits)
            {
                unfit ??= ex;
                continue;
            }

            needs ??= RequestNeeds.For(context);
            candidates.AddRange(RequestRouting.Apply(share.FindAll(d => !candidates.Contains(d)), routing, needs.Value, context.StartedAt));
        }

        return candidates.Count > 0 ? candidates : throw unfit ?? new LlmGatewayException(new LlmError(
            LlmErrorKind.InvalidRequest, "No deployment of the requested models is left after the request's provider preferences (provider.order with allow_fallbacks false).")
        {
            Param = "provider",
            Code = LlmErrorCodes.NoDeploymentFits,
        });

        LlmDeployment Direct(string name)
        {
            var (provider, upstreamModel) = _registry.Resolve(name);
            return _router.Direct(provider, upstreamModel);
        }
    }

    // The route to try first, after the pricing policy: unpriced deployments are never tried when it blocks them.
    private (LlmRoute Route, List<LlmDeployment>? Candidates) ToRoute(LlmRequestContext context, List<LlmDeployment> candidates)
    {
        if (_meter.Options.UnpricedModels == LlmUnpricedModelPolicy.Block)
        {
            // Unpriced deployments are never tried; if none is priced the first one's refusal explains why.
            var priced = candidates.FindAll(d => d.Info?.PricingAt(context.StartedAt) is not null);
            candidates = priced.Count > 0 ? priced : candidates.GetRange(0, 1);
        }

        var first = candidates[0];
        return (new LlmRoute(first.Endpoint, first.Model, first), candidates);
    }

    /// <summary>Whether <paramref name="name"/> is a configured model group.</summary>
    public bool IsGroup(string name) => _router.IsGroup(name);

    /// <summary>
    /// Reads and parses the caller's body and resolves its route (a model group's candidates in order). The caller's
    /// body is the returned call's to dispose.
    /// </summary>
    public async ValueTask<PreparedCall> ReadAsync(LlmRequestContext context, Func<LlmRequestContext, CancellationToken, ValueTask<(LlmRoute Route, List<LlmDeployment>? Candidates)>> resolve, CancellationToken cancellationToken)
    {
        var callerBody = await RequestBody.ReadAsync(context.HttpContext.Request, _options.MaxRequestBodyBytes, cancellationToken).ConfigureAwait(false);
        try
        {
            context.Request = context.Codec.ReadRequest(callerBody.WrittenMemory);
            context.RequestedModel = context.Request.Model;
            context.OutputGuards = _guards;
            var (route, candidates) = await resolve(context, cancellationToken).ConfigureAwait(false);
            SetRoute(context, route);
            return new PreparedCall(callerBody, route, candidates);
        }
        catch
        {
            callerBody.Dispose();
            throw;
        }
    }

    /// <summary>Sends a prepared call to <paramref name="model"/> instead of the one its caller named (before it is sent).</summary>
    public async ValueTask RerouteAsync(LlmRequestContext context, PreparedCall call, string model, CancellationToken cancellationToken)
    {
        var (route, candidates) = await ResolveAsync(context, model, cancellationToken).ConfigureAwait(false);
        SetRoute(context, route);
        call.Reroute(route, candidates);
    }

    public void SetRoute(LlmRequestContext context, LlmRoute route)
    {
        route.Provider.EnsureUsable();
        _meter.EnsurePriced(context, route.Provider, route.Model);
        context.Deployment = route.Deployment;
        context.ProviderName = route.Provider.Name;
        context.ProviderProtocol = route.Provider.Protocol;
        context.UpstreamModel = route.Model;
    }

    /// <summary>Points the call at <paramref name="route"/> and writes its upstream body.</summary>
    public async ValueTask RetargetAsync(LlmRequestContext context, PreparedCall call, LlmRoute route, CancellationToken cancellationToken)
    {
        SetRoute(context, route);
        if (call.Embeddings is { } embeddings)
        {
            var codec = route.Provider.Codec;
            context.IsPassthrough = codec.HasEmbeddings
                ? codec.WriteEmbeddingsRequest(call.CallerBody.Span, route.Model, embeddings.Inputs, embeddings.Dimensions, call.Retarget(route))
                : throw Json.Invalid($"Provider '{route.Provider.Name}' ({codec.Protocol}) has no embeddings API.", "model");
            return;
        }

        await InlineImagesIfNeededAsync(context, route, cancellationToken).ConfigureAwait(false);
        var body = call.Retarget(route);
        context.IsPassthrough = WriteBody(context, route, call.CallerBody, body, call.Translation);
    }

    public ValueTask InlineImagesIfNeededAsync(LlmRequestContext context, LlmRoute route, CancellationToken cancellationToken) =>
        route.Provider.Codec.InlineImagesOnly && RemoteImageInliner.HasRemoteImages(context.Request)
            ? _images.InlineAsync(context.Request, cancellationToken)
            : ValueTask.CompletedTask;

    /// <summary>Writes the upstream body for <paramref name="route"/>: the caller's bytes with the model rewritten in
    /// passthrough, a translated request otherwise. Returns whether it was passed through.</summary>
    public bool WriteBody(LlmRequestContext context, LlmRoute route, ReadOnlyMemory<byte> callerBody, PooledBufferWriter body, TranslationState translation)
    {
        var passthrough = !_requestsMayChange && route.Provider.CanPassThrough(context.InboundProtocol)
            && !(_options.PerRequestRouting && context.Request.Routing is not null);
        if (!passthrough && context.Request.PassthroughOnly is var (param, message))
        {
            throw Json.Invalid(message, param);
        }

        if (!passthrough && context.Request.N is > 1)
        {
            // Translation carries one choice; several choices reach only a provider of the caller's own protocol.
            throw Json.Invalid("'n' greater than 1 is supported only when the provider speaks the caller's protocol.", "n");
        }

        if (passthrough)
        {
            context.StreamUsageRequested = RequestsStreamUsage(context, route.Provider);
            JsonModelRewriter.Rewrite(callerBody.Span, route.Model, body, context.StreamUsageRequested);
        }
        else
        {
            WriteProviderRequest(context.Request, route.Provider, route.Model, _options.DefaultMaxTokens, translation, body);
        }

        return passthrough;
    }

    /// <summary>
    /// Whether a passthrough OpenAI stream must be made to report usage: metering needs it, and the relay then hides
    /// the usage chunk from the caller who did not ask for it.
    /// </summary>
    public static bool RequestsStreamUsage(LlmRequestContext context, LlmProviderEndpoint provider) =>
        context.Request is { Stream: true, StreamIncludeUsage: false } && provider.CodecFor(context.InboundProtocol, passthrough: true).StreamUsageOnRequest &&
        !provider.Dialect.HasFlag(OpenAIDialect.NoStreamOptions);

    /// <summary>Writes the provider-protocol request for <paramref name="request"/>.</summary>
    public static void WriteProviderRequest(LlmRequest request, LlmProviderEndpoint provider, string model, int defaultMaxTokens, TranslationState state, PooledBufferWriter output)
    {
        provider.Codec.WriteRequest(request, model, provider.Dialect, defaultMaxTokens, state, output);
        provider.AdaptBody(output);
    }
}

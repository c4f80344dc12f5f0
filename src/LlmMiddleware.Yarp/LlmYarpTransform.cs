using System.Collections.Frozen;
using System.Runtime.InteropServices;
using LlmMiddleware.Caching;
using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using LlmMiddleware.Providers;
using LlmMiddleware.Upstream;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;

namespace LlmMiddleware.Yarp;

/// <summary>
/// The request and response halves of an LLM route behind YARP: YARP forwards; this translates the body, replaces
/// the credentials and path, and turns the provider's response (complete or streamed) into the caller's protocol.
/// </summary>
internal sealed class LlmYarpTransform(CallFraming framing, LlmProtocol inbound, LlmProviderEndpoint provider, string? model, ResolvedCachePolicy? cachePolicy)
{
    /// <summary>
    /// The caller's request headers an LLM route forwards to the provider (with
    /// <see cref="LlmGatewayOptions.ForwardRequestHeaders"/>): content negotiation and trace context. Everything else stays
    /// at the edge — credentials, cookies, an auth proxy's identity headers, and <c>openai-organization</c> or
    /// <c>openai-project</c>, with which a caller would pick what the company's key bills.
    /// </summary>
    private static readonly FrozenSet<string> ForwardedRequestHeaders = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "Accept", "User-Agent", "traceparent", "tracestate", "baggage");

    private readonly RouteCachePolicy _routeCachePolicy = new(cachePolicy);

    public async ValueTask TransformRequestAsync(RequestTransformContext transform)
    {
        var http = transform.HttpContext;
        if (http.Features.Get<LlmYarpCallState>() is { Prepared: { } prepared } proxied)
        {
            ApplyCall(transform, proxied.Context, prepared);
            return;
        }

        var context = new LlmRequestContext(http, inbound, LlmOperationNames.Chat, framing.TimeProvider);
        http.Features.Set<ILlmRequestFeature>(new LlmRequestFeature(context));
        framing.Meter.Begin(context);
        var state = new LlmYarpCallState(context, framing);
        http.Features.Set(state);
        try
        {
            var call = await framing.PrepareCallAsync(context, ResolveForRoute, cachePolicy, http.RequestAborted).ConfigureAwait(false);
            if (call is null)
            {
                // Answered from the cache; YARP does not forward a request whose response has started.
                await state.CompleteAsync().ConfigureAwait(false);
                return;
            }

            http.Response.RegisterForDispose(call);
            state.Translation = call.Translation;
            ApplyCall(transform, context, call);
        }
        catch (LlmGatewayException ex)
        {
            // Answer here; YARP does not forward a request whose response has started.
            context.Error = ex.Error;
            await LlmCodec.For(inbound).WriteErrorAsync(http.Response, ex.Error, http.RequestAborted).ConfigureAwait(false);
            await state.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Points YARP's proxy request at the prepared call: path and query, the allowed headers, credentials, body.</summary>
    private void ApplyCall(RequestTransformContext transform, LlmRequestContext context, PreparedCall call)
    {
        var http = transform.HttpContext;
        var pathAndQuery = provider.ChatPath(call.Model, context.Request.Stream);
        var queryStart = pathAndQuery.IndexOf('?');
        transform.Path = new PathString(queryStart < 0 ? pathAndQuery : pathAndQuery[..queryStart]);
        transform.Query.Collection.Clear();
        if (queryStart >= 0)
        {
            foreach (var (key, value) in QueryHelpers.ParseQuery(pathAndQuery[queryStart..]))
            {
                transform.Query.Collection[key] = value;
            }
        }

        var request = transform.ProxyRequest;
        var codec = context.Codec;
        foreach (var name in request.Headers.Select(header => header.Key).ToList())
        {
            if (!ForwardedRequestHeaders.Contains(name) && !framing.Options.ForwardRequestHeaders.Contains(name) &&
                !(context.IsPassthrough && codec.IsPassthroughHeader(name)))
            {
                request.Headers.Remove(name);
            }
        }

        provider.ApplyHeaders(request.Headers, context.Request.Stream);
        // YARP sends what HttpContext.Request.Body holds (it refuses a replaced ProxyRequest.Content); the body is
        // a pooled buffer that lives until the response ends.
        MemoryMarshal.TryGetArray(call.UpstreamBody, out var body);
        http.Request.Body = new MemoryStream(body.Array!, body.Offset, body.Count, writable: false);
        request.Content!.Headers.ContentLength = body.Count;
        request.Content.Headers.ContentType = new("application/json");
    }

    /// <summary>
    /// The call as the proxy pipeline's LLM step runs it (<c>UseLlmPipeline()</c>): framed, and through the host's stages,
    /// like the gateway endpoints', with YARP's forwarding (<paramref name="next"/>) as the last step.
    /// </summary>
    public Task RunProxiedAsync(HttpContext http, Func<Task> next) => framing.HandleProxiedAsync(http, inbound, ResolveForRoute, _routeCachePolicy, async (context, call) =>
    {
        http.Features.Set(new LlmYarpCallState(context, framing) { Prepared = call, Translation = call.Translation });
        await next().ConfigureAwait(false);
        if (http.Features.Get<IForwarderErrorFeature>() is { } failure && context.Error is null && !http.Response.HasStarted)
        {
            // YARP could not reach the provider (its response transform never ran): a failure the stages see.
            throw new LlmGatewayException(LlmForwarderErrorMiddleware.ErrorFor(failure, context.ProviderName));
        }
    });

    public async ValueTask TransformResponseAsync(ResponseTransformContext transform)
    {
        var http = transform.HttpContext;
        if (http.Features.Get<LlmYarpCallState>() is not { } state || transform.ProxyResponse is not { } response)
        {
            return;
        }

        transform.SuppressResponseBody = true;
        foreach (var (name, _) in response.Headers.Concat(response.Content.Headers))
        {
            if (!ResponseRelay.RetryHeaders.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                http.Response.Headers.Remove(name);
            }
        }

        var context = state.Context;
        try
        {
            await ResponseRelay.RelayAsync(context, response, provider.Codec, state.Translation, framing.Options, http.RequestAborted).ConfigureAwait(false);
        }
        catch (LlmGatewayException ex)
        {
            context.Error = ex.Error;
            await LlmCodec.For(inbound).WriteErrorAsync(http.Response, ex.Error, http.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            context.ClientDisconnected = true;
        }
        finally
        {
            if (state.Prepared is null)
            {
                await state.CompleteAsync().ConfigureAwait(false); // a proxied call is ended by its framing
            }
        }
    }

    /// <summary>The route's provider serves the call; an alias configured for that provider maps to its model, and
    /// <see cref="LlmMetadataKeys.Model"/> overrides both.</summary>
    private ValueTask<(LlmRoute Route, List<LlmDeployment>? Candidates)> ResolveForRoute(LlmRequestContext context, CancellationToken cancellationToken)
    {
        if (model is not null)
        {
            return ValueTask.FromResult<(LlmRoute, List<LlmDeployment>?)>((new LlmRoute(provider, model), null));
        }

        var requested = context.Request.Model;
        try
        {
            var (resolved, resolvedModel) = framing.Registry.Resolve(requested);
            if (string.Equals(resolved.Name, provider.Name, StringComparison.OrdinalIgnoreCase))
            {
                return ValueTask.FromResult<(LlmRoute, List<LlmDeployment>?)>((new LlmRoute(provider, resolvedModel), null));
            }
        }
        catch (LlmGatewayException)
        {
            // Not an alias: the route's provider serves the name as given.
        }

        return ValueTask.FromResult<(LlmRoute, List<LlmDeployment>?)>((new LlmRoute(provider, requested), null));
    }
}

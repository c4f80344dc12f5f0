using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.OpenAI;
using LlmMiddleware.Providers;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Transforms;

namespace LlmMiddleware.Yarp;

/// <summary>
/// The request and response halves of an LLM route behind YARP: YARP forwards; this translates the body, replaces
/// the credentials and path, and turns the provider's response (complete or streamed) into the caller's protocol.
/// </summary>
internal sealed class LlmYarpTransform(LlmCallExecutor executor, LlmProtocol inbound, LlmProviderEndpoint provider, string? model)
{
    private static readonly string[] CallerCredentialHeaders = ["Authorization", "x-api-key", "api-key", "x-goog-api-key", "Accept-Encoding", "Cookie"];

    public async ValueTask TransformRequestAsync(RequestTransformContext transform)
    {
        var http = transform.HttpContext;
        var context = new LlmRequestContext(http, inbound, executor.TimeProvider);
        http.Features.Set<ILlmRequestFeature>(new LlmRequestFeature(context));
        var state = new LlmYarpCallState(context, executor);
        http.Features.Set(state);
        try
        {
            var body = await RequestBody.ReadAsync(http.Request, executor.Options.MaxRequestBodyBytes, http.RequestAborted).ConfigureAwait(false);
            http.Response.RegisterForDispose(body);
            context.Request = inbound == LlmProtocol.AnthropicMessages ? AnthropicRequestReader.Read(body.WrittenMemory) : OpenAIRequestReader.Read(body.WrittenMemory);
            context.RequestedModel = context.Request.Model;
            var upstreamModel = model ?? ResolveModel(context.Request.Model);
            provider.EnsureUsable();
            context.ProviderName = provider.Name;
            context.ProviderProtocol = provider.Protocol;
            context.UpstreamModel = upstreamModel;
            await executor.RunRequestHooksAsync(context, http.RequestAborted).ConfigureAwait(false);
            context.IsPassthrough = executor.CanPassThrough(provider, inbound);
            await executor.PrepareForProviderAsync(context, provider, http.RequestAborted).ConfigureAwait(false);

            var upstreamBody = new PooledBufferWriter(body.WrittenCount + 256);
            http.Response.RegisterForDispose(upstreamBody);
            if (context.IsPassthrough)
            {
                JsonModelRewriter.Rewrite(body.WrittenSpan, upstreamModel, upstreamBody);
            }
            else
            {
                LlmCallExecutor.WriteProviderRequest(context.Request, provider, upstreamModel, executor.Options.DefaultMaxTokens, state.Translation, upstreamBody);
            }

            var pathAndQuery = provider.ChatPath(upstreamModel, context.Request.Stream);
            var queryStart = pathAndQuery.IndexOf('?');
            transform.Path = new PathString(queryStart < 0 ? pathAndQuery : pathAndQuery[..queryStart]);
            transform.Query.Collection.Clear();
            if (queryStart >= 0)
            {
                foreach (var (key, value) in Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(pathAndQuery[queryStart..]))
                {
                    transform.Query.Collection[key] = value;
                }
            }

            var request = transform.ProxyRequest;
            foreach (var header in CallerCredentialHeaders)
            {
                request.Headers.Remove(header);
            }

            if (!(context.IsPassthrough && inbound == LlmProtocol.AnthropicMessages))
            {
                request.Headers.Remove("anthropic-version");
                request.Headers.Remove("anthropic-beta");
            }

            provider.ApplyHeaders(request.Headers, context.Request.Stream);
            request.Content = new ReadOnlyMemoryContent(upstreamBody.WrittenMemory);
            request.Content.Headers.ContentType = new("application/json");
        }
        catch (LlmGatewayException ex)
        {
            // Answer here; YARP does not forward a request whose response has started.
            context.Error = ex.Error;
            await ResponseRelay.WriteErrorAsync(http, inbound, ex.Error, http.RequestAborted).ConfigureAwait(false);
            await state.CompleteAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask TransformResponseAsync(ResponseTransformContext transform)
    {
        var http = transform.HttpContext;
        if (http.Features.Get<LlmYarpCallState>() is not { } state || transform.ProxyResponse is not { } response)
        {
            return;
        }

        transform.SuppressResponseBody = true;
        var context = state.Context;
        try
        {
            await ResponseRelay.RelayAsync(context, response, provider.Protocol, state.Translation, executor.Options.MaxResponseBodyBytes, http.RequestAborted).ConfigureAwait(false);
        }
        catch (LlmGatewayException ex)
        {
            context.Error = ex.Error;
            await ResponseRelay.WriteErrorAsync(http, inbound, ex.Error, http.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            context.ClientDisconnected = true;
        }
        finally
        {
            await state.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>An alias configured for this route's provider maps to its model; any other name is sent as is.</summary>
    private string ResolveModel(string requested)
    {
        try
        {
            var (resolved, resolvedModel) = executor.Registry.Resolve(requested);
            if (ReferenceEquals(resolved, provider) || string.Equals(resolved.Name, provider.Name, StringComparison.OrdinalIgnoreCase))
            {
                return resolvedModel;
            }
        }
        catch (LlmGatewayException)
        {
            // Not an alias: the route's provider serves the name as given.
        }

        return requested;
    }
}

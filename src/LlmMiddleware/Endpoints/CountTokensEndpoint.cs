using System.Globalization;
using System.Text.Json.Nodes;
using LlmMiddleware.Gateway;
using LlmMiddleware.Governance;
using LlmMiddleware.Identity;
using LlmMiddleware.Metering;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Providers;
using LlmMiddleware.Routing;
using LlmMiddleware.Upstream;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Endpoints;

/// <summary>
/// Anthropic's <c>POST /v1/messages/count_tokens</c> for any model the caller may use: asked of Anthropic for its own
/// models, counted here with the model's tokenizer for OpenAI's (and models a host registered one for), estimated
/// with o200k_base otherwise. <c>x-llm-token-count</c> says which (<c>provider</c>, <c>exact</c>, <c>estimate</c>).
/// Nothing is metered: counting is free at Anthropic too.
/// </summary>
internal static class CountTokensEndpoint
{
    public const string SourceHeader = "x-llm-token-count";

    public static async Task HandleAsync(HttpContext http, CallFraming framing, LlmRouter router, VirtualKeyIndex? keys)
    {
        var aborted = http.RequestAborted;
        try
        {
            using var body = await RequestBody.ReadAsync(http.Request, framing.Options.MaxRequestBodyBytes, aborted).ConfigureAwait(false);
            var request = AnthropicRequestReader.Read(body.WrittenMemory, countOnly: true);
            if (keys is not null && http.Features.Get<LlmCallerFeature>() is null)
            {
                VirtualKeysStage.Admit(keys, http, request.Model);
            }

            // A group is counted for its first deployment: the one that serves it when all are well.
            var (provider, model) = router.IsGroup(request.Model)
                ? router.Deployments.Where(d => d.Group == request.Model).Select(d => (d.Endpoint, d.Model)).First()
                : framing.Registry.Resolve(request.Model);
            provider.EnsureUsable();
            if (provider.Kind == LlmProviderKind.Anthropic)
            {
                await AskAnthropicAsync(http, framing, provider, model, body.WrittenMemory, aborted).ConfigureAwait(false);
                return;
            }

            var tokenizer = framing.Tokenizers.For(provider.Name, model);
            var (tokens, images) = ChatTokenCounter.CountPrompt(request, tokenizer, LlmCodec.For(provider.Protocol));
            http.Response.Headers[SourceHeader] = images == 0 && framing.Tokenizers.IsExact(provider.Name, model) ? "exact" : "estimate";
            http.Response.Headers["x-llm-tokenizer"] = tokenizer.Name;
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"{{\"input_tokens\":{tokens}}}"), aborted).ConfigureAwait(false);
        }
        catch (LlmGatewayException ex) when (!http.Response.HasStarted)
        {
            await LlmCodec.For(LlmProtocol.AnthropicMessages).WriteErrorAsync(http.Response, ex.Error, aborted).ConfigureAwait(false);
        }
    }

    /// <summary>Anthropic counts its own models: the caller's body, for the upstream model, and Anthropic's answer.</summary>
    private static async Task AskAnthropicAsync(HttpContext http, CallFraming framing, LlmProviderEndpoint provider, string model, ReadOnlyMemory<byte> body, CancellationToken aborted)
    {
        var upstreamBody = JsonNode.Parse(body.Span)!.AsObject();
        upstreamBody["model"] = model;
        using var request = provider.CreateRequest("/v1/messages/count_tokens", System.Text.Encoding.UTF8.GetBytes(upstreamBody.ToJsonString()), stream: false);
        using var timeout = new TimeLimit(aborted, framing.Options.UpstreamTimeout, framing.TimeProvider);
        using var response = await framing.Sender.SendUpstreamAsync(provider, request, timeout.Token, aborted).ConfigureAwait(false);
        http.Response.StatusCode = (int)response.StatusCode;
        http.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
        http.Response.Headers[SourceHeader] = "provider";
        await response.Content.CopyToAsync(http.Response.Body, aborted).ConfigureAwait(false);
    }
}

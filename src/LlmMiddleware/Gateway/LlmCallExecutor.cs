using System.Net.Sockets;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.Gemini;
using LlmMiddleware.Protocols.OpenAI;
using LlmMiddleware.Providers;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Gateway;

/// <summary>
/// Runs one LLM call end to end: reads and parses the caller's body, resolves the provider, runs the host's hooks,
/// writes the provider request (or forwards the caller's bytes in passthrough), sends it and relays the response.
/// </summary>
internal sealed partial class LlmCallExecutor
{
    private readonly LlmProviderRegistry _registry;
    private readonly LlmGatewayHook[] _hooks;
    private readonly bool _hooksMayEditRequests;
    private readonly LlmGatewayOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<LlmCallExecutor> _logger;
    private readonly RemoteImageInliner _images;

    public LlmCallExecutor(LlmProviderRegistry registry, IEnumerable<LlmGatewayHook> hooks, IOptions<LlmGatewayOptions> options, TimeProvider timeProvider, RemoteImageInliner images, ILogger<LlmCallExecutor> logger)
    {
        _registry = registry;
        _images = images;
        _hooks = [.. hooks];

        // A hook that overrides OnRequestAsync may edit the request, so the caller's bytes can no longer be forwarded as they are.
        _hooksMayEditRequests = Array.Exists(_hooks, h => h.GetType().GetMethod(nameof(LlmGatewayHook.OnRequestAsync))!.DeclaringType != typeof(LlmGatewayHook));
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public LlmProviderRegistry Registry => _registry;

    public LlmGatewayOptions Options => _options;

    public TimeProvider TimeProvider => _timeProvider;

    public async Task HandleChatAsync(HttpContext http, LlmProtocol inbound)
    {
        var context = new LlmRequestContext(http, inbound, _timeProvider);
        http.Features.Set<ILlmRequestFeature>(new LlmRequestFeature(context));
        var aborted = http.RequestAborted;
        try
        {
            using var body = await RequestBody.ReadAsync(http.Request, _options.MaxRequestBodyBytes, aborted).ConfigureAwait(false);
            context.Request = inbound == LlmProtocol.AnthropicMessages ? AnthropicRequestReader.Read(body.WrittenMemory) : OpenAIRequestReader.Read(body.WrittenMemory);
            context.RequestedModel = context.Request.Model;
            var (provider, model) = _registry.Resolve(context.Request.Model);
            provider.EnsureUsable();
            context.ProviderName = provider.Name;
            context.ProviderProtocol = provider.Protocol;
            context.UpstreamModel = model;

            await RunRequestHooksAsync(context, aborted).ConfigureAwait(false);
            context.IsPassthrough = CanPassThrough(provider, inbound);
            await PrepareForProviderAsync(context, provider, aborted).ConfigureAwait(false);
            await SendAsync(context, provider, model, body.WrittenMemory, aborted).ConfigureAwait(false);
        }
        catch (LlmGatewayException ex)
        {
            context.Error = ex.Error;
            if (!http.Response.HasStarted)
            {
                await ResponseRelay.WriteErrorAsync(http, inbound, ex.Error, aborted).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            context.ClientDisconnected = true;
        }
        finally
        {
            context.MarkEnd();
            await RunCompletionHooksAsync(context).ConfigureAwait(false);
        }
    }

    private async Task SendAsync(LlmRequestContext context, LlmProviderEndpoint provider, string model, ReadOnlyMemory<byte> callerBody, CancellationToken aborted)
    {
        var state = new TranslationState();
        using var upstreamBody = new PooledBufferWriter(callerBody.Length + 256);
        if (context.IsPassthrough)
        {
            JsonModelRewriter.Rewrite(callerBody.Span, model, upstreamBody);
        }
        else
        {
            WriteProviderRequest(context.Request, provider, model, _options.DefaultMaxTokens, state, upstreamBody);
        }

        using var request = provider.CreateRequest(provider.ChatPath(model, context.Request.Stream), upstreamBody.WrittenMemory, context.Request.Stream);
        if (context.IsPassthrough && context.InboundProtocol == LlmProtocol.AnthropicMessages)
        {
            ForwardAnthropicHeaders(context.HttpContext.Request, request);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        timeout.CancelAfter(_options.UpstreamTimeout);
        HttpResponseMessage response;
        try
        {
            response = await provider.Invoker.SendAsync(request, timeout.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            Log.UpstreamUnreachable(_logger, provider.Name, ex);
            throw new LlmGatewayException(new LlmError(LlmErrorKind.Server, $"Could not reach provider '{provider.Name}'.", 502) { Code = "upstream_unreachable" });
        }
        catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
        {
            throw new LlmGatewayException(new LlmError(LlmErrorKind.Timeout, $"Provider '{provider.Name}' did not answer in time."));
        }

        using (response)
        {
            try
            {
                await ResponseRelay.RelayAsync(context, response, provider.Protocol, state, _options.MaxResponseBodyBytes, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!aborted.IsCancellationRequested && !context.HttpContext.Response.HasStarted)
            {
                throw new LlmGatewayException(new LlmError(LlmErrorKind.Timeout, $"Provider '{provider.Name}' did not answer in time."));
            }
        }
    }

    /// <summary>Writes the provider-protocol request for <paramref name="request"/>.</summary>
    public static void WriteProviderRequest(LlmRequest request, LlmProviderEndpoint provider, string model, int defaultMaxTokens, TranslationState state, PooledBufferWriter output)
    {
        switch (provider.Protocol)
        {
            case LlmProtocol.AnthropicMessages:
                AnthropicRequestWriter.Write(request, model, defaultMaxTokens, state, output);
                break;
            case LlmProtocol.Gemini:
                GeminiRequestWriter.Write(request, output);
                break;
            default:
                OpenAIRequestWriter.Write(request, model, provider.Dialect, state, output);
                break;
        }
    }

    /// <summary>An Anthropic caller talking to Anthropic keeps its API version and beta flags.</summary>
    private static void ForwardAnthropicHeaders(HttpRequest caller, HttpRequestMessage upstream)
    {
        foreach (var name in (ReadOnlySpan<string>)["anthropic-version", "anthropic-beta"])
        {
            if (caller.Headers.TryGetValue(name, out var value))
            {
                upstream.Headers.Remove(name);
                upstream.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)value!);
            }
        }
    }

    /// <summary>Work a provider needs before its request can be written: Gemini takes inline images only.</summary>
    public ValueTask PrepareForProviderAsync(LlmRequestContext context, LlmProviderEndpoint provider, CancellationToken cancellationToken) =>
        provider.Protocol == LlmProtocol.Gemini && RemoteImageInliner.HasRemoteImages(context.Request)
            ? _images.InlineAsync(context.Request, cancellationToken)
            : ValueTask.CompletedTask;

    /// <summary>Whether the caller's bytes can go upstream unchanged: same protocol, no dialect quirks, no hook that may edit requests.</summary>
    public bool CanPassThrough(LlmProviderEndpoint provider, LlmProtocol inbound) => !_hooksMayEditRequests && provider.CanPassThrough(inbound);

    public async ValueTask RunRequestHooksAsync(LlmRequestContext context, CancellationToken cancellationToken)
    {
        foreach (var hook in _hooks)
        {
            await hook.OnRequestAsync(context, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask RunCompletionHooksAsync(LlmRequestContext context)
    {
        foreach (var hook in _hooks)
        {
            try
            {
                await hook.OnCompletedAsync(context, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Log.HookFailed(_logger, hook.GetType().Name, ex);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Could not reach LLM provider {Provider}.", EventName = "UpstreamUnreachable")]
        public static partial void UpstreamUnreachable(ILogger logger, string provider, Exception exception);

        [LoggerMessage(2, LogLevel.Error, "LLM gateway hook {Hook} failed in OnCompletedAsync.", EventName = "HookFailed")]
        public static partial void HookFailed(ILogger logger, string hook, Exception exception);
    }
}

using System.Text.Json;
using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using LlmMiddleware.Upstream;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.WebExtract;

/// <summary>
/// <c>POST /v1/extract</c> <c>{"url": "...", "model"?: "..."}</c>: fetches the page (allow-listed hosts only, through
/// the gateway's SSRF guard) and answers <c>{"object":"web.extract","url","title","content_type","content","tokens",
/// "tokenizer"}</c>, the tokens counted as <c>model</c>'s tokenizer would. A call like any other: keys, limits, hooks
/// and its record (operation <c>web_extract</c>, provider <c>web</c>, the page's tokens as input) apply. Errors are
/// OpenAI-shaped.
/// </summary>
internal sealed class WebExtractEndpoint : IDisposable
{
    public const string Operation = "web_extract";

    private readonly LlmWebExtractOptions _options;
    private readonly HttpClient _client;

    public WebExtractEndpoint(IOptions<LlmWebExtractOptions> options, IOptions<LlmGatewayOptions> gateway)
    {
        _options = options.Value;
        _client = GuardedHttp.Create(gateway.Value.ConnectTimeout, _options.AllowPrivateHosts, _options.Allows, _options.MaxRedirects);
    }

    public Task HandleAsync(HttpContext http, CallFraming framing) =>
        framing.RunAsync(http, LlmProtocol.OpenAIChat, Operation, (context, aborted) => ExtractAsync(context, framing, aborted));

    private async Task ExtractAsync(LlmRequestContext context, CallFraming framing, CancellationToken aborted)
    {
        using var body = await RequestBody.ReadAsync(context.HttpContext.Request, 64 * 1024, aborted).ConfigureAwait(false);
        using var doc = Json.Parse(body.WrittenMemory, "request body");
        var root = doc.RootElement;
        var url = root.ValueKind == JsonValueKind.Object ? Json.OptionalString(root, "url"u8) : null;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw Json.Invalid("'url' must be an absolute http(s) URL.", "url");
        }

        if (!_options.Allows(uri.Host))
        {
            throw new LlmGatewayException(new LlmError(LlmErrorKind.Permission, $"Host '{uri.Host}' is not on this gateway's web extract allow-list.") { Param = "url", Code = "host_not_allowed" });
        }

        var model = Json.OptionalString(root, "model"u8);
        context.RequestedModel = context.Request.Model = model ?? "web/extract";
        context.ProviderName = "web";
        context.UpstreamModel = uri.Host;
        await framing.InvokePipelineAsync(context, (context, aborted) => new ValueTask(FetchAsync(context, framing, uri, model, aborted)), aborted).ConfigureAwait(false);
    }

    private async Task FetchAsync(LlmRequestContext context, CallFraming framing, Uri uri, string? model, CancellationToken aborted)
    {
        using var deadline = new CancellationTokenSource(_options.Timeout, framing.TimeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(aborted, deadline.Token);
        (string Title, string Text)? readable;
        string mediaType;
        try
        {
            using var response = await _client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            context.UpstreamStatusCode = (int)response.StatusCode;
            mediaType = response.Content.Headers.ContentType?.MediaType?.ToLowerInvariant() ?? "";
            if (!response.IsSuccessStatusCode)
            {
                throw Unfetchable(uri, $"it answered HTTP {(int)response.StatusCode}");
            }

            using var content = await GuardedHttp.ReadLimitedAsync(response, _options.MaxBytes, linked.Token).ConfigureAwait(false)
                ?? throw Unfetchable(uri, $"it is larger than {_options.MaxBytes} bytes");
            context.MarkFirstToken();
            readable = ReadableText.From(mediaType, content);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !aborted.IsCancellationRequested)
        {
            throw Unfetchable(uri, $"it did not answer within {_options.Timeout.TotalSeconds:0.#} s");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // Never the reason: it could tell the caller what a host resolves to or which ports are open.
            throw Unfetchable(uri, "it could not be reached, or is not allowed");
        }
        catch (Exception ex) when (ex is not LlmGatewayException and not OperationCanceledException)
        {
            throw Unfetchable(uri, "its content could not be read");
        }

        if (readable is not var (title, text))
        {
            throw new LlmGatewayException(new LlmError(LlmErrorKind.InvalidRequest, $"'{uri}' is {(mediaType.Length > 0 ? mediaType : "of no content type")}; web extract reads HTML, PDF and plain text.", 415) { Param = "url", Code = "unsupported_content_type" });
        }

        var tokenizer = framing.Tokenizers.For(model is null ? null : "openai", model);
        context.Usage = new LlmUsage { InputTokens = tokenizer.Count(text) };
        context.UsageCountedBy = tokenizer.Name;
        var http = context.HttpContext;
        http.Response.ContentType = "application/json";
        using var output = new PooledBufferWriter(text.Length + 512);
        using (var writer = new Utf8JsonWriter(output, Json.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("object"u8, "web.extract"u8);
            writer.WriteString("url"u8, uri.ToString());
            writer.WriteString("title"u8, title);
            writer.WriteString("content_type"u8, mediaType);
            writer.WriteString("content"u8, text);
            writer.WriteNumber("tokens"u8, context.Usage.InputTokens);
            writer.WriteString("tokenizer"u8, tokenizer.Name);
            writer.WriteEndObject();
        }

        await http.Response.Body.WriteAsync(output.WrittenMemory, aborted).ConfigureAwait(false);
    }

    private static LlmGatewayException Unfetchable(Uri uri, string why) =>
        new(new LlmError(LlmErrorKind.InvalidRequest, $"'{uri}' could not be extracted: {why}.", 422) { Param = "url", Code = "url_not_extracted" });

    public void Dispose() => _client.Dispose();
}

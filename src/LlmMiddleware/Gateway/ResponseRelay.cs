using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.Gemini;
using LlmMiddleware.Protocols.OpenAI;
using LlmMiddleware.Protocols.Sse;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LlmMiddleware.Gateway;

/// <summary>
/// Turns a provider's HTTP response into the caller's: errors translated with their status and retry headers,
/// complete bodies translated (or relayed unchanged in passthrough), streams translated event by event and flushed
/// as they arrive. Shared by the gateway endpoints and the YARP transforms.
/// </summary>
internal static class ResponseRelay
{
    /// <summary>The provider's response headers a caller may see (retry hints); the rest (cookies, organization ids,
    /// rate limits of the company's key) stay at the gateway, on every path.</summary>
    internal static readonly string[] RetryHeaders = ["retry-after", "retry-after-ms", "x-should-retry"];

    public static async Task RelayAsync(LlmRequestContext context, HttpResponseMessage upstream, LlmProtocol upstreamProtocol, TranslationState state, LlmGatewayOptions options, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var maxBodyBytes = options.MaxResponseBodyBytes;
        if (options.EmitRouteHeaders)
        {
            WriteRouteHeaders(context);
        }

        var client = context.InboundProtocol;
        var status = (int)upstream.StatusCode;
        context.UpstreamStatusCode = status;
        http.Response.Headers.ContentLength = null;

        if (status is >= 300 and < 400)
        {
            // Redirects are not followed (one would carry the provider key wherever it points): a bad gateway.
            throw new LlmGatewayException(new LlmError(LlmErrorKind.Server, $"The provider answered with a redirect (HTTP {status}), which the gateway does not follow.", 502) { Code = LlmErrorCodes.UpstreamRedirect });
        }

        if (status >= 400)
        {
            using var errorBody = await ReadBodyAsync(upstream, 1024 * 1024, cancellationToken).ConfigureAwait(false);
            var error = Errors.Read(status, errorBody.WrittenSpan);
            context.Error = error;
            if (status is 401 or 403)
            {
                // The gateway's own credentials were refused: the caller learns that, never the provider's text about
                // the key (OpenAI's shows part of it). The provider's error stays on the call (context.Error) for the
                // record, the span and the hooks.
                var refused = new LlmError(LlmErrorKind.Server, $"The provider refused the gateway's credentials (HTTP {status}); the gateway's operator must fix its configuration.", 502) { Code = LlmErrorCodes.UpstreamAuthentication };
                await WriteErrorAsync(http, client, refused, cancellationToken).ConfigureAwait(false);
                return;
            }

            foreach (var name in RetryHeaders)
            {
                if (upstream.Headers.TryGetValues(name, out var values))
                {
                    http.Response.Headers[name] = values.ToArray();
                }
            }

            if (context.IsPassthrough)
            {
                http.Response.StatusCode = status;
                http.Response.ContentType = upstream.Content.Headers.ContentType?.ToString() ?? "application/json";
                await http.Response.Body.WriteAsync(ProviderSecrets.Redact(errorBody.WrittenMemory), cancellationToken).ConfigureAwait(false);
                return;
            }

            await WriteErrorAsync(http, client, error with { Message = ProviderSecrets.Redact(error.Message) }, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (context.Request.Stream)
        {
            await RelayStreamAsync(context, upstream, upstreamProtocol, state, options.StreamIdleTimeout, cancellationToken).ConfigureAwait(false);
            return;
        }

        using var body = await ReadBodyAsync(upstream, maxBodyBytes, cancellationToken).ConfigureAwait(false);
        context.MarkFirstToken();
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        if (context.IsPassthrough)
        {
            RecordPassthroughResponse(context, body.WrittenMemory, upstreamProtocol);
            if (context.CaptureResponse)
            {
                CaptureForCache(context, body.WrittenMemory, upstreamProtocol);
            }

            await http.Response.Body.WriteAsync(body.WrittenMemory, cancellationToken).ConfigureAwait(false);
            return;
        }

        LlmResponse response;
        try
        {
            response = ReadResponse(body.WrittenMemory, upstreamProtocol, state);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new LlmGatewayException(new LlmError(LlmErrorKind.Server, "The provider returned a response the gateway could not read.", 502) { Code = LlmErrorCodes.UpstreamMalformedResponse });
        }

        context.Usage = response.Usage;
        context.FinishReason = response.FinishReason;
        CaptureIfUnmetered(context, response);
        if (context.CaptureResponse)
        {
            context.CapturedResponse = response;
        }

        using var output = new PooledBufferWriter(body.WrittenCount + 256);
        if (client == LlmProtocol.AnthropicMessages)
        {
            AnthropicResponseCodec.Write(response, output);
        }
        else
        {
            OpenAIResponseCodec.Write(response, output);
        }

        await http.Response.Body.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Which provider, model and deployment answered, and after how many attempts.</summary>
    public static void WriteRouteHeaders(LlmRequestContext context)
    {
        var headers = context.HttpContext.Response.Headers;
        if (context.ProviderName is { } provider)
        {
            headers["x-llm-provider"] = provider;
        }

        if (context.UpstreamModel is { } model)
        {
            headers["x-llm-model"] = model;
        }

        if (context.Deployment is { } deployment)
        {
            headers["x-llm-deployment"] = deployment.Name;
        }

        if (context.Attempts.Count > 0)
        {
            headers["x-llm-attempts"] = context.Attempts.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public static LlmResponse ReadResponse(ReadOnlyMemory<byte> body, LlmProtocol upstreamProtocol, TranslationState state)
    {
        switch (upstreamProtocol)
        {
            case LlmProtocol.AnthropicMessages:
                return AnthropicResponseCodec.Read(body, state);
            case LlmProtocol.Gemini:
                var builder = new ResponseBuilder();
                var reader = new GeminiStreamReader();
                reader.OnEvent(default, body.Span, builder);
                if (builder.Failure is { } failure)
                {
                    throw new LlmGatewayException(failure);
                }

                return builder.Build();
            default:
                return OpenAIResponseCodec.Read(body, state);
        }
    }

    /// <summary>Writes an error in the caller's protocol, unless the response has already started.</summary>
    public static async Task WriteErrorAsync(HttpContext http, LlmProtocol client, LlmError error, CancellationToken cancellationToken)
    {
        if (http.Response.HasStarted)
        {
            return;
        }

        http.Response.StatusCode = Errors.StatusFor(error, client);
        http.Response.ContentType = "application/json";
        http.Response.Headers.ContentLength = null;
        using var buffer = new PooledBufferWriter(512);
        Errors.Write(error, client, buffer);
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    private static void RecordPassthroughResponse(LlmRequestContext context, ReadOnlyMemory<byte> body, LlmProtocol protocol)
    {
        try
        {
            context.Usage = ReadUsage(body, protocol);
            if (context.Usage.OutputTokens == 0 && context.OperationName == LlmOperationNames.Chat)
            {
                CaptureIfUnmetered(context, ReadResponse(body, protocol, new TranslationState()));
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or LlmGatewayException)
        {
            // Relayed as is: the caller sees exactly what the provider sent.
        }
    }

    /// <summary>A passthrough body is read into the neutral form only when the response cache wants it; a body the
    /// gateway cannot read is relayed all the same, just not cached.</summary>
    private static void CaptureForCache(LlmRequestContext context, ReadOnlyMemory<byte> body, LlmProtocol protocol)
    {
        try
        {
            var response = ReadResponse(body, protocol, new TranslationState());
            context.FinishReason = response.FinishReason;
            context.CapturedResponse = response;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or LlmGatewayException)
        {
        }
    }

    /// <summary>A response without usage (some OpenAI-compatible servers omit it) is metered by counting its content.</summary>
    private static void CaptureIfUnmetered(LlmRequestContext context, LlmResponse response)
    {
        if (context.Usage.OutputTokens > 0)
        {
            return;
        }

        foreach (var part in response.Content)
        {
            switch (part)
            {
                case LlmTextPart text:
                    context.Delivered.AppendText(text.Text);
                    break;
                case LlmReasoningPart reasoning:
                    context.Delivered.AppendText(reasoning.Text);
                    break;
                case LlmToolCallPart call:
                    context.Delivered.AppendText(call.Name);
                    context.Delivered.AppendText(call.ArgumentsJson);
                    break;
            }
        }
    }

    /// <summary>Reads only the usage of a complete response body, for passthrough calls.</summary>
    public static LlmUsage ReadUsage(ReadOnlyMemory<byte> body, LlmProtocol protocol)
    {
        using var doc = JsonDocument.Parse(body);
        var usage = Json.Property(doc.RootElement, "usage");
        return protocol == LlmProtocol.AnthropicMessages ? AnthropicResponseCodec.ReadUsage(usage) : OpenAIResponseCodec.ReadUsage(usage);
    }

    private static async Task RelayStreamAsync(LlmRequestContext context, HttpResponseMessage upstream, LlmProtocol upstreamProtocol, TranslationState state, TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var response = http.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var output = response.BodyWriter;
        var reader = CreateStreamReader(upstreamProtocol, state);
        var writer = CreateStreamWriter(context.InboundProtocol, output, context.Request.StreamIncludeUsage, context.StartedAt.ToUnixTimeSeconds());
        var sink = new RecordingSink(context, writer, context.IsPassthrough, context.CaptureResponse ? new ResponseBuilder() : null);

        using var sse = new SseReader();
        using var idle = new TimeLimit(cancellationToken, Timeout.InfiniteTimeSpan, context.TimeProvider);
        var body = await upstream.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                // Rescheduled before every read: the limit is on silence, not on the whole stream.
                idle.Restart(idleTimeout);
                if (!await sse.FillAsync(body, idle.Token).ConfigureAwait(false))
                {
                    break;
                }

                if (context.IsPassthrough && !context.StreamUsageRequested)
                {
                    Json.Write(output, sse.LastRead.Span);
                }

                Dispatch(sse, reader, sink, context.StreamUsageRequested ? output : null);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (reader.IsTerminated)
                {
                    break;
                }
            }

            if (!reader.IsTerminated)
            {
                if (sse.TryReadTrailing(out var name, out var data))
                {
                    reader.OnEvent(name, data, sink);
                }

                reader.OnEndOfStream(sink, finishSeen: false);
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            if (!reader.IsTerminated)
            {
                sink.Error(LlmStreamReader.StreamBroken("The connection to the provider broke mid-stream."));
            }
        }
        catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
        {
            // A time limit ran out mid-stream: the caller still gets an error, not a silent cut.
            sink.Error(LlmStreamReader.StreamTimedOut(
                cancellationToken.IsCancellationRequested ? "The provider did not finish the response in time." : $"The provider sent nothing for {idleTimeout.TotalSeconds:0.###} s."));
        }

        await output.FlushAsync(http.RequestAborted).ConfigureAwait(false);
        if (sink.Failed && context.InboundProtocol == LlmProtocol.OpenAIChat)
        {
            // OpenAI SDKs treat a plain end of stream as success. Throwing after the response has started makes the
            // server end it without the final chunk, after the error chunk already flushed: the caller sees a failed
            // response rather than a clean finish.
            throw new LlmStreamAbortedException(context.Error?.Message ?? "The upstream stream failed.");
        }
    }

    public static LlmStreamReader CreateStreamReader(LlmProtocol upstreamProtocol, TranslationState state) => upstreamProtocol switch
    {
        LlmProtocol.AnthropicMessages => new AnthropicStreamReader(state),
        LlmProtocol.Gemini => new GeminiStreamReader(),
        _ => new OpenAIStreamReader(state),
    };

    public static ILlmStreamSink CreateStreamWriter(LlmProtocol clientProtocol, IBufferWriter<byte> output, bool includeUsage, long created) =>
        clientProtocol == LlmProtocol.AnthropicMessages ? new AnthropicStreamWriter(output) : new OpenAIStreamWriter(output, includeUsage, created);

    /// <summary>
    /// Feeds every complete event buffered in <paramref name="sse"/> to <paramref name="reader"/>. With
    /// <paramref name="relay"/>, passthrough events are relayed one by one instead of as read, leaving out the usage
    /// chunk the gateway asked for on the caller's behalf.
    /// </summary>
    public static void Dispatch(SseReader sse, LlmStreamReader reader, ILlmStreamSink sink, IBufferWriter<byte>? relay = null)
    {
        while (!reader.IsTerminated && sse.TryRead(out var name, out var data))
        {
            if (relay is not null && !IsUsageOnlyChunk(data))
            {
                SseFormat.WriteDataPrefix(relay);
                Json.Write(relay, data);
                SseFormat.WriteEnd(relay);
            }

            reader.OnEvent(name, data, sink);
        }
    }

    /// <summary>OpenAI's closing usage chunk: <c>"choices": []</c> with a <c>usage</c> object.</summary>
    private static bool IsUsageOnlyChunk(ReadOnlySpan<byte> data)
    {
        if (data.IndexOf("\"usage\""u8) < 0)
        {
            return false;
        }

        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isChoices = reader.ValueTextEquals("choices"u8);
            reader.Read();
            if (isChoices)
            {
                return reader.TokenType == JsonTokenType.StartArray && reader.Read() && reader.TokenType == JsonTokenType.EndArray;
            }

            reader.Skip();
        }

        return false;
    }

    private static async Task<PooledBufferWriter> ReadBodyAsync(HttpResponseMessage upstream, long max, CancellationToken cancellationToken)
    {
        var buffer = new PooledBufferWriter((int)Math.Clamp(upstream.Content.Headers.ContentLength ?? 4096, 256, 1024 * 1024));
        try
        {
            var stream = await upstream.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            while (true)
            {
                var memory = buffer.GetMemory(8192);
                var read = await stream.ReadAsync(memory, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer;
                }

                buffer.Advance(read);
                if (buffer.WrittenCount > max)
                {
                    throw new LlmGatewayException(new LlmError(LlmErrorKind.Server, "The provider's response exceeds the gateway's size limit.", 502));
                }
            }
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }
}

using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text.Json;
using LlmMiddleware.Pipeline;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Sse;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LlmMiddleware.Upstream;

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

    public static async Task RelayAsync(LlmRequestContext context, HttpResponseMessage upstream, LlmCodec upstreamCodec, TranslationState state, LlmGatewayOptions options, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var maxBodyBytes = options.MaxResponseBodyBytes;
        if (options.EmitRouteHeaders)
        {
            RouteHeaders.Write(context);
        }

        var client = context.Codec;
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
                await client.WriteErrorAsync(http.Response, refused, cancellationToken).ConfigureAwait(false);
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

            await client.WriteErrorAsync(http.Response, error with { Message = ProviderSecrets.Redact(error.Message) }, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (context.Request.Stream)
        {
            await RelayStreamAsync(context, upstream, upstreamCodec, state, options.StreamIdleTimeout, cancellationToken).ConfigureAwait(false);
            return;
        }

        using var body = await ReadBodyAsync(upstream, maxBodyBytes, cancellationToken).ConfigureAwait(false);
        context.MarkFirstToken();
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        if (context.IsPassthrough)
        {
            ObservePassthrough(context, body.WrittenMemory, upstreamCodec);
            await http.Response.Body.WriteAsync(body.WrittenMemory, cancellationToken).ConfigureAwait(false);
            return;
        }

        LlmResponse response;
        try
        {
            response = upstreamCodec.ReadResponse(body.WrittenMemory, state);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            throw new LlmGatewayException(new LlmError(LlmErrorKind.Server, "The provider returned a response the gateway could not read.", 502) { Code = LlmErrorCodes.UpstreamMalformedResponse });
        }

        if (context.OutputGuards is { } guards)
        {
            // Before the caller and the cache see it; a guard that stops it answers with its error.
            await Guardrails.OutputGuards.ApplyAsync(guards, context, response, cancellationToken).ConfigureAwait(false);
        }

        context.Usage = response.Usage;
        context.FinishReason = response.FinishReason;
        context.Observers?.OnResponse(response);
        using var output = new PooledBufferWriter(body.WrittenCount + 256);
        client.WriteResponse(response, output);

        await http.Response.Body.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A passthrough body is relayed as sent; the gateway reads its usage, and a chat answer's content only when an
    /// observer wants it (the cache; metering when the usage lacks the output). A body the gateway cannot read is
    /// relayed all the same.
    /// </summary>
    private static void ObservePassthrough(LlmRequestContext context, ReadOnlyMemory<byte> body, LlmCodec codec)
    {
        try
        {
            context.Usage = codec.ReadUsage(body);
            if (context.OperationName == LlmOperationNames.Chat && context.Observers is { } observers && observers.WantsContent(context.Usage))
            {
                var response = codec.ReadResponse(body, new TranslationState());
                context.FinishReason = response.FinishReason;
                observers.OnResponse(response);
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or LlmGatewayException)
        {
        }
    }

    private static async Task RelayStreamAsync(LlmRequestContext context, HttpResponseMessage upstream, LlmCodec upstreamCodec, TranslationState state, TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        var http = context.HttpContext;
        var response = http.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        var output = response.BodyWriter;
        var reader = upstreamCodec.CreateStreamReader(state);
        var writer = context.Codec.CreateStreamWriter(output, context.Request.StreamIncludeUsage, context.StartedAt.ToUnixTimeSeconds());
        var sink = new RecordingSink(context, writer, context.IsPassthrough);

        // Output guards see the text before the recording (so the cache keeps what the caller got) and the caller.
        var guarded = context.OutputGuards is { } guards ? Guardrails.OutputGuards.Wrap(guards, context, sink) : null;
        ILlmStreamSink feed = guarded is null ? sink : guarded;

        using var sse = StreamFrames.For(upstream);
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

                if (context.StreamUsageRequested)
                {
                    RelayBuffered(sse, reader, feed, output, upstreamCodec);
                }
                else
                {
                    reader.ReadBuffered(sse, feed);
                }

                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (reader.IsTerminated || guarded?.Stopped == true)
                {
                    break;
                }
            }

            if (!reader.IsTerminated)
            {
                if (sse.TryReadTrailing(out var name, out var data))
                {
                    reader.OnEvent(name, data, feed);
                }

                reader.OnEndOfStream(feed, finishSeen: false);
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
        {
            if (!reader.IsTerminated)
            {
                feed.Error(LlmStreamReader.StreamBroken("The connection to the provider broke mid-stream."));
            }
        }
        catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
        {
            // A time limit ran out mid-stream: the caller still gets an error, not a silent cut.
            feed.Error(LlmStreamReader.StreamTimedOut(
                cancellationToken.IsCancellationRequested ? "The provider did not finish the response in time." : $"The provider sent nothing for {idleTimeout.TotalSeconds:0.###} s."));
        }

        await output.FlushAsync(http.RequestAborted).ConfigureAwait(false);
        if (sink.Failed && context.Codec.AbortsFailedStreams)
        {
            // OpenAI SDKs treat a plain end of stream as success. Throwing after the response has started makes the
            // server end it without the final chunk, after the error chunk already flushed: the caller sees a failed
            // response rather than a clean finish.
            throw new LlmStreamAbortedException(context.Error?.Message ?? "The upstream stream failed.");
        }
    }

    /// <summary>
    /// Feeds the events buffered in <paramref name="sse"/> to <paramref name="reader"/> and relays each to the caller,
    /// except the usage the gateway asked for on the caller's behalf.
    /// </summary>
    private static void RelayBuffered(IStreamFrames sse, LlmStreamReader reader, ILlmStreamSink sink, IBufferWriter<byte> relay, LlmCodec codec)
    {
        while (!reader.IsTerminated && sse.TryRead(out var name, out var data))
        {
            if (!codec.IsUnrequestedUsageEvent(data))
            {
                SseFormat.WriteDataPrefix(relay);
                Json.Write(relay, data);
                SseFormat.WriteEnd(relay);
            }

            reader.OnEvent(name, data, sink);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<PooledBufferWriter> ReadBodyAsync(HttpResponseMessage upstream, long max, CancellationToken cancellationToken)
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

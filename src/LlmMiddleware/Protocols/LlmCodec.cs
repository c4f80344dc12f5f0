using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.Gemini;
using LlmMiddleware.Protocols.OpenAI;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Protocols;

/// <summary>
/// One wire protocol: its requests, complete responses, streams, usage and errors, and the few ways it is handled
/// differently. Looked up once per caller and per provider (<see cref="For"/>); no other code branches on the protocol.
/// </summary>
internal abstract class LlmCodec
{
    public static LlmCodec For(LlmProtocol protocol) => protocol switch
    {
        LlmProtocol.AnthropicMessages => AnthropicCodec.Instance,
        LlmProtocol.Gemini => GeminiCodec.Instance,
        LlmProtocol.OpenAIResponses => Responses.ResponsesCodec.Instance,
        LlmProtocol.BedrockConverse => Bedrock.BedrockConverseCodec.Instance,
        _ => OpenAICodec.Instance,
    };

    public abstract LlmProtocol Protocol { get; }

    /// <summary>The protocol's name in configuration and route metadata (<c>openai</c>, <c>anthropic</c>, <c>gemini</c>).</summary>
    public abstract string Name { get; }

    /// <summary>Whether callers speak it (Gemini is spoken by providers only).</summary>
    public virtual bool IsCallerProtocol => true;

    /// <summary>The caller protocol named <paramref name="name"/> (case-insensitive), if any.</summary>
    public static bool TryParseCaller(string? name, [NotNullWhen(true)] out LlmCodec? codec)
    {
        codec = string.Equals(name, OpenAICodec.Instance.Name, StringComparison.OrdinalIgnoreCase) ? OpenAICodec.Instance
            : string.Equals(name, AnthropicCodec.Instance.Name, StringComparison.OrdinalIgnoreCase) ? AnthropicCodec.Instance
            : null;
        return codec is not null;
    }

    /// <summary>Parses a caller's request; anything malformed becomes a 400, never a crash.</summary>
    public LlmRequest ReadRequest(ReadOnlyMemory<byte> body)
    {
        try
        {
            return ReadRequestCore(body);
        }
        catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException or IndexOutOfRangeException)
        {
            throw Json.Invalid($"The request body is malformed: {ex.Message}");
        }
    }

    protected abstract LlmRequest ReadRequestCore(ReadOnlyMemory<byte> body);

    /// <summary>Writes <paramref name="request"/> for a provider of this protocol.</summary>
    public abstract void WriteRequest(LlmRequest request, string model, OpenAIDialect dialect, int defaultMaxTokens, TranslationState state, IBufferWriter<byte> output);

    public abstract LlmResponse ReadResponse(ReadOnlyMemory<byte> body, TranslationState state);

    public abstract void WriteResponse(LlmResponse response, IBufferWriter<byte> output);

    /// <summary>
    /// Only the usage of a complete response body (passthrough calls): the body is walked with a forward-only reader
    /// and only its usage object parsed into a document (1.04 µs for a small OpenAI answer, against 1.15 µs for a
    /// document of the whole body: the reader still tokenizes what precedes the usage).
    /// </summary>
    public LlmUsage ReadUsage(ReadOnlyMemory<byte> body)
    {
        var reader = new Utf8JsonReader(body.Span);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A response body is a JSON object.");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isUsage = reader.ValueTextEquals(UsageProperty);
            reader.Read();
            if (isUsage && reader.TokenType == JsonTokenType.StartObject)
            {
                using var usage = JsonDocument.ParseValue(ref reader);
                return ReadUsage(usage.RootElement);
            }

            reader.Skip();
        }

        return default;
    }

    /// <summary>The top-level property of a complete response that holds its usage.</summary>
    protected virtual ReadOnlySpan<byte> UsageProperty => "usage"u8;

    /// <summary>Reads this protocol's usage object.</summary>
    protected abstract LlmUsage ReadUsage(JsonElement usage);

    public abstract LlmStreamReader CreateStreamReader(TranslationState state);

    /// <summary>A writer of this protocol's stream; <paramref name="created"/> is the Unix time the call started.</summary>
    public abstract ILlmStreamSink CreateStreamWriter(IBufferWriter<byte> output, bool includeUsage, long created);

    /// <summary>The status a caller of this protocol expects for <paramref name="error"/>.</summary>
    public virtual int StatusFor(LlmError error) => error.Status;

    public abstract void WriteError(LlmError error, IBufferWriter<byte> output);

    /// <summary>Answers with <paramref name="error"/>, unless the response has already started.</summary>
    public async Task WriteErrorAsync(HttpResponse response, LlmError error, CancellationToken cancellationToken)
    {
        if (response.HasStarted)
        {
            return;
        }

        response.StatusCode = StatusFor(error);
        response.ContentType = "application/json";
        response.Headers.ContentLength = null;
        using var buffer = new PooledBufferWriter(512);
        WriteError(error, buffer);
        await response.Body.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Prompt tokens an image costs by this protocol's providers' published rule.</summary>
    public abstract int ImageTokens(LlmImagePart image);

    /// <summary>Whether a stream that fails after it started must end by abort: OpenAI SDKs take a plain end as success.</summary>
    public virtual bool AbortsFailedStreams => false;

    /// <summary>Whether a stream reports usage only when asked (OpenAI's <c>stream_options.include_usage</c>).</summary>
    public virtual bool StreamUsageOnRequest => false;

    /// <summary>Whether a stream event is only the usage asked for on a caller's behalf (<see cref="StreamUsageOnRequest"/>), to hide from it.</summary>
    public virtual bool IsUnrequestedUsageEvent(ReadOnlySpan<byte> data) => false;

    /// <summary>Whether images must reach the provider inline (Gemini fetches no URLs).</summary>
    public virtual bool InlineImagesOnly => false;

    /// <summary>Whether a caller's header reaches a provider of the same protocol in passthrough (Anthropic's version and beta flags).</summary>
    public virtual bool IsPassthroughHeader(string name) => false;

    /// <summary>What a caller's headers add to the answer beyond its body (Anthropic beta flags), for the cache key; empty when nothing.</summary>
    public virtual string AnswerChangingHeaders(IHeaderDictionary headers) => "";

    /// <summary>For an OpenAI API other than chat completions (Responses): its path, which OpenAI and Azure OpenAI serve,
    /// so a call can go to them as sent; <see langword="null"/> for the other protocols.</summary>
    public virtual string? OpenAIApiPath => null;

    /// <summary>Whether providers of this protocol serve embeddings.</summary>
    public virtual bool HasEmbeddings => false;

    /// <summary>
    /// Writes an embeddings request for a provider of this protocol from the caller's OpenAI-shaped one; returns
    /// whether the caller's body was passed through, so that the answer is OpenAI-shaped already.
    /// </summary>
    public virtual bool WriteEmbeddingsRequest(ReadOnlySpan<byte> callerBody, string model, IReadOnlyList<string> inputs, int? dimensions, IBufferWriter<byte> output) =>
        throw new NotSupportedException($"{Protocol} has no embeddings API.");

    /// <summary>Writes this protocol's embeddings answer in OpenAI's shape (when it was not passed through), its usage
    /// the <paramref name="promptTokens"/> the gateway counted (a protocol that reports none).</summary>
    public virtual void WriteOpenAIEmbeddings(ReadOnlySpan<byte> providerBody, string model, bool base64, long promptTokens, IBufferWriter<byte> output) =>
        throw new NotSupportedException($"{Protocol} embeddings are passed through.");

    /// <summary>Protocols only providers speak (Gemini) refuse the caller-side operations.</summary>
    protected NotSupportedException NotACallerProtocol() => new($"{Protocol} is spoken by providers only, not by callers.");
}

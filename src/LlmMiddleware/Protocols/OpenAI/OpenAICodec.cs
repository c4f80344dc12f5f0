using System.Buffers;
using System.Text.Json;

namespace LlmMiddleware.Protocols.OpenAI;

/// <summary>OpenAI's Chat Completions protocol, also spoken by Azure OpenAI and the OpenAI-compatible family.</summary>
internal sealed class OpenAICodec : LlmCodec
{
    public static readonly OpenAICodec Instance = new();

    public override LlmProtocol Protocol => LlmProtocol.OpenAIChat;

    public override string Name => "openai";

    protected override LlmRequest ReadRequestCore(ReadOnlyMemory<byte> body) => OpenAIRequestReader.Read(body);

    public override void WriteRequest(LlmRequest request, string model, OpenAIDialect dialect, int defaultMaxTokens, TranslationState state, IBufferWriter<byte> output) =>
        OpenAIRequestWriter.Write(request, model, dialect, state, output);

    public override LlmResponse ReadResponse(ReadOnlyMemory<byte> body, TranslationState state) => OpenAIResponseCodec.Read(body, state);

    public override void WriteResponse(LlmResponse response, IBufferWriter<byte> output) => OpenAIResponseCodec.Write(response, output);

    protected override LlmUsage ReadUsage(JsonElement usage) => OpenAIResponseCodec.ReadUsage(usage);

    public override LlmStreamReader CreateStreamReader(TranslationState state) => new OpenAIStreamReader(state);

    public override ILlmStreamSink CreateStreamWriter(IBufferWriter<byte> output, bool includeUsage, long created) => new OpenAIStreamWriter(output, includeUsage, created);

    /// <summary>Anthropic's 529 (overloaded) is a 503 to OpenAI callers.</summary>
    public override int StatusFor(LlmError error) => error.Status == 529 ? 503 : error.Status;

    public override void WriteError(LlmError error, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output, Json.WriterOptions);
        Errors.WriteOpenAI(writer, error);
    }

    /// <summary>85 plus 170 per 512-px tile after scaling to fit 2048 × 2048 and a short side of 768 (85 at low detail).</summary>
    public override int ImageTokens(LlmImagePart image)
    {
        if (string.Equals(image.Detail, "low", StringComparison.OrdinalIgnoreCase))
        {
            return 85;
        }

        var (width, height) = ImageSize.Read(image);
        double w = width, h = height;
        var fit = Math.Min(1.0, 2048.0 / Math.Max(w, h));
        w *= fit;
        h *= fit;
        var shortSide = Math.Min(w, h);
        if (shortSide > 768)
        {
            w *= 768 / shortSide;
            h *= 768 / shortSide;
        }

        return 85 + (170 * (int)Math.Ceiling(w / 512) * (int)Math.Ceiling(h / 512));
    }

    public override bool AbortsFailedStreams => true;

    public override bool StreamUsageOnRequest => true;

    /// <summary>OpenAI's closing usage chunk: <c>"choices": []</c> with a <c>usage</c> object.</summary>
    public override bool IsUnrequestedUsageEvent(ReadOnlySpan<byte> data)
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

    public override bool HasEmbeddings => true;

    public override bool WriteEmbeddingsRequest(ReadOnlySpan<byte> callerBody, string model, IReadOnlyList<string> inputs, int? dimensions, IBufferWriter<byte> output)
    {
        JsonModelRewriter.Rewrite(callerBody, model, output);
        return true;
    }
}

using System.Buffers;
using System.Text.Json;
using LlmMiddleware.Protocols.OpenAI;

namespace LlmMiddleware.Protocols.Gemini;

/// <summary>Gemini's <c>generateContent</c> protocol, spoken by providers only.</summary>
internal sealed class GeminiCodec : LlmCodec
{
    public static readonly GeminiCodec Instance = new();

    public override LlmProtocol Protocol => LlmProtocol.Gemini;

    public override string Name => "gemini";

    public override bool IsCallerProtocol => false;

    protected override LlmRequest ReadRequestCore(ReadOnlyMemory<byte> body) => throw NotACallerProtocol();

    public override void WriteRequest(LlmRequest request, string model, OpenAIDialect dialect, int defaultMaxTokens, TranslationState state, IBufferWriter<byte> output) =>
        GeminiRequestWriter.Write(request, output);

    /// <summary>A complete response is one stream event: the same reader builds it.</summary>
    public override LlmResponse ReadResponse(ReadOnlyMemory<byte> body, TranslationState state)
    {
        var builder = new ResponseBuilder();
        new GeminiStreamReader().OnEvent(default, body.Span, builder);
        return builder.Failure is { } failure ? throw new LlmGatewayException(failure) : builder.Build();
    }

    public override void WriteResponse(LlmResponse response, IBufferWriter<byte> output) => throw NotACallerProtocol();

    protected override ReadOnlySpan<byte> UsageProperty => "usageMetadata"u8;

    protected override LlmUsage ReadUsage(JsonElement usage) => GeminiStreamReader.ReadUsage(usage);

    public override LlmStreamReader CreateStreamReader(TranslationState state) => new GeminiStreamReader();

    public override ILlmStreamSink CreateStreamWriter(IBufferWriter<byte> output, bool includeUsage, long created) => throw NotACallerProtocol();

    public override void WriteError(LlmError error, IBufferWriter<byte> output) => throw NotACallerProtocol();

    /// <summary>Gemini bills every image at 258 tokens, whatever its size.</summary>
    public override int ImageTokens(LlmImagePart image) => 258;

    public override bool InlineImagesOnly => true;

    public override bool HasEmbeddings => true;

    public override bool WriteEmbeddingsRequest(ReadOnlySpan<byte> callerBody, string model, IReadOnlyList<string> inputs, int? dimensions, IBufferWriter<byte> output)
    {
        GeminiEmbeddings.WriteRequest(model, inputs, dimensions, output);
        return false;
    }

    public override void WriteOpenAIEmbeddings(ReadOnlySpan<byte> providerBody, string model, bool base64, long promptTokens, IBufferWriter<byte> output) =>
        GeminiEmbeddings.WriteOpenAIResponse(providerBody, model, base64, promptTokens, output);
}

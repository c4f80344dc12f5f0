using System.Buffers;
using System.Text.Json;
using LlmMiddleware.Protocols.Anthropic;
using LlmMiddleware.Protocols.OpenAI;

namespace LlmMiddleware.Protocols.Bedrock;

/// <summary>Amazon Bedrock's Converse protocol (<c>/converse</c>, <c>/converse-stream</c>), spoken by providers only.</summary>
internal sealed class BedrockConverseCodec : LlmCodec
{
    public static readonly BedrockConverseCodec Instance = new();

    public override LlmProtocol Protocol => LlmProtocol.BedrockConverse;

    public override string Name => "bedrock";

    public override bool IsCallerProtocol => false;

    protected override LlmRequest ReadRequestCore(ReadOnlyMemory<byte> body) => throw NotACallerProtocol();

    public override void WriteRequest(LlmRequest request, string model, OpenAIDialect dialect, int defaultMaxTokens, TranslationState state, IBufferWriter<byte> output) =>
        BedrockConverseWriter.Write(request, defaultMaxTokens, output);

    public override LlmResponse ReadResponse(ReadOnlyMemory<byte> body, TranslationState state) => BedrockConverseReader.Read(body);

    public override void WriteResponse(LlmResponse response, IBufferWriter<byte> output) => throw NotACallerProtocol();

    protected override LlmUsage ReadUsage(JsonElement usage) => BedrockConverseReader.ReadUsage(usage);

    public override LlmStreamReader CreateStreamReader(TranslationState state) => new BedrockConverseReader();

    public override ILlmStreamSink CreateStreamWriter(IBufferWriter<byte> output, bool includeUsage, long created) => throw NotACallerProtocol();

    public override void WriteError(LlmError error, IBufferWriter<byte> output) => throw NotACallerProtocol();

    /// <summary>Bedrock's models are mostly Claude: Anthropic's rule.</summary>
    public override int ImageTokens(LlmImagePart image) => AnthropicCodec.Instance.ImageTokens(image);

    public override bool InlineImagesOnly => true;
}

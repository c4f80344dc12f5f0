using System.Buffers;
using System.Text.Json;
using LlmMiddleware.Protocols.OpenAI;

namespace LlmMiddleware.Protocols.Responses;

/// <summary>
/// OpenAI's Responses protocol (<c>POST /v1/responses</c>), spoken by callers: their requests are translated for
/// whichever provider the route reaches, and the answer is written back as a Responses object or event stream. Errors,
/// statuses and image costs are OpenAI's.
/// </summary>
internal sealed class ResponsesCodec : LlmCodec
{
    public static readonly ResponsesCodec Instance = new();

    public override LlmProtocol Protocol => LlmProtocol.OpenAIResponses;

    public override string Name => "openai-responses";

    protected override LlmRequest ReadRequestCore(ReadOnlyMemory<byte> body) => ResponsesRequestReader.Read(body);

    public override void WriteResponse(LlmResponse response, IBufferWriter<byte> output) =>
        ResponsePlayer.Play(response, new ResponsesStreamWriter(output, response.Created, events: false));

    public override ILlmStreamSink CreateStreamWriter(IBufferWriter<byte> output, bool includeUsage, long created) =>
        new ResponsesStreamWriter(output, created, events: true);

    public override int StatusFor(LlmError error) => OpenAICodec.Instance.StatusFor(error);

    public override void WriteError(LlmError error, IBufferWriter<byte> output) => OpenAICodec.Instance.WriteError(error, output);

    public override int ImageTokens(LlmImagePart image) => OpenAICodec.Instance.ImageTokens(image);

    /// <summary>The OpenAI SDKs take a stream's plain end as success: a failed one ends by abort.</summary>
    public override bool AbortsFailedStreams => true;

    // No provider speaks it to the gateway: requests are translated to each provider's own protocol.
    public override void WriteRequest(LlmRequest request, string model, OpenAIDialect dialect, int defaultMaxTokens, TranslationState state, IBufferWriter<byte> output) => throw NotAProviderProtocol();

    public override LlmResponse ReadResponse(ReadOnlyMemory<byte> body, TranslationState state) => throw NotAProviderProtocol();

    protected override LlmUsage ReadUsage(JsonElement usage) => throw NotAProviderProtocol();

    public override LlmStreamReader CreateStreamReader(TranslationState state) => throw NotAProviderProtocol();

    private static NotSupportedException NotAProviderProtocol() => new("The Responses protocol is spoken by callers only; providers are reached in their own protocols.");
}

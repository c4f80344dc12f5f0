using System.Buffers;
using System.Text.Json;
using LlmMiddleware.Protocols.OpenAI;

namespace LlmMiddleware.Protocols.Responses;

/// <summary>
/// OpenAI's Responses protocol (<c>POST /v1/responses</c>): callers' requests are passed through to OpenAI and Azure
/// OpenAI (which serve it) or translated for any other provider, and the answer is written back as a Responses object
/// or event stream. Errors, statuses and image costs are OpenAI's.
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

    public override string? OpenAIApiPath => "/responses";

    /// <summary>The OpenAI SDKs take a stream's plain end as success: a failed one ends by abort.</summary>
    public override bool AbortsFailedStreams => true;

    // Requests are only ever passed through to OpenAI's own Responses API (or translated to another protocol): what
    // comes back is read for metering, the cache and the observers.
    public override void WriteRequest(LlmRequest request, string model, OpenAIDialect dialect, int defaultMaxTokens, TranslationState state, IBufferWriter<byte> output) => throw NotAProviderProtocol();

    public override LlmResponse ReadResponse(ReadOnlyMemory<byte> body, TranslationState state) => ResponsesResponseReader.Read(body);

    protected override LlmUsage ReadUsage(JsonElement usage) => ResponsesResponseReader.ReadUsage(usage);

    public override LlmStreamReader CreateStreamReader(TranslationState state) => new ResponsesStreamReader();

    private static NotSupportedException NotAProviderProtocol() => new("Responses requests reach providers as the caller sent them, or translated to the provider's protocol.");
}

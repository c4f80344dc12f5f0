using System.Buffers;
using System.Text.Json;
using LlmMiddleware.Protocols.OpenAI;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Protocols.Anthropic;

/// <summary>Anthropic's Messages protocol.</summary>
internal sealed class AnthropicCodec : LlmCodec
{
    public static readonly AnthropicCodec Instance = new();

    public override LlmProtocol Protocol => LlmProtocol.AnthropicMessages;

    public override string Name => "anthropic";

    protected override LlmRequest ReadRequestCore(ReadOnlyMemory<byte> body) => AnthropicRequestReader.Read(body);

    public override void WriteRequest(LlmRequest request, string model, OpenAIDialect dialect, int defaultMaxTokens, TranslationState state, IBufferWriter<byte> output) =>
        AnthropicRequestWriter.Write(request, model, defaultMaxTokens, state, output);

    public override LlmResponse ReadResponse(ReadOnlyMemory<byte> body, TranslationState state) => AnthropicResponseCodec.Read(body, state);

    public override void WriteResponse(LlmResponse response, IBufferWriter<byte> output) => AnthropicResponseCodec.Write(response, output);

    protected override LlmUsage ReadUsage(JsonElement usage) => AnthropicResponseCodec.ReadUsage(usage);

    public override LlmStreamReader CreateStreamReader(TranslationState state) => new AnthropicStreamReader(state);

    public override ILlmStreamSink CreateStreamWriter(IBufferWriter<byte> output, bool includeUsage, long created) => new AnthropicStreamWriter(output);

    /// <summary>An overloaded provider's 503 is Anthropic's 529 to Anthropic callers.</summary>
    public override int StatusFor(LlmError error) => error is { Status: 503, Kind: LlmErrorKind.Overloaded } ? 529 : error.Status;

    public override void WriteError(LlmError error, IBufferWriter<byte> output)
    {
        using var writer = new Utf8JsonWriter(output, Json.WriterOptions);
        Errors.WriteAnthropic(writer, error);
    }

    /// <summary>Width × height / 750 after scaling to fit 1568 px on the long side and about 1.15 megapixels.</summary>
    public override int ImageTokens(LlmImagePart image)
    {
        var (width, height) = ImageSize.Read(image);
        var scale = Math.Min(1.0, Math.Min(1568.0 / Math.Max(width, height), Math.Sqrt(1_150_000.0 / ((double)width * height))));
        return (int)Math.Ceiling(width * scale * (height * scale) / 750);
    }

    public override bool IsPassthroughHeader(string name) => name.StartsWith("anthropic-", StringComparison.OrdinalIgnoreCase);

    public override string AnswerChangingHeaders(IHeaderDictionary headers) => headers["anthropic-beta"].ToString();
}

using System.Text.Json;

namespace LlmMiddleware.Protocols.Gemini;

/// <summary>
/// Reads Gemini <c>GenerateContentResponse</c> objects: the events of <c>streamGenerateContent?alt=sse</c>, and the
/// whole body of a non-streamed <c>generateContent</c> (protocols reference §3.5).
/// </summary>
internal sealed class GeminiStreamReader : LlmStreamReader
{
    private bool _started;
    private bool _finishSeen;
    private bool _sawToolCall;
    private int _nextTool;

    public override void OnEvent(ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> data, ILlmStreamSink sink)
    {
        if (IsTerminated)
        {
            return;
        }

        if (!TryParse(data, sink, out var doc))
        {
            return;
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (Json.Property(root, "error").ValueKind == JsonValueKind.Object)
            {
                Terminate(sink, Errors.Read(500, data) with { StatusCode = 502 });
                return;
            }

            if (!_started)
            {
                _started = true;
                sink.Start(Json.String(root, "responseId") ?? "", Json.String(root, "modelVersion") ?? "");
            }

            var usage = Json.Property(root, "usageMetadata");
            if (usage.ValueKind == JsonValueKind.Object && usage.TryGetProperty("promptTokenCount", out _))
            {
                sink.Usage(ReadUsage(usage));
            }

            var candidates = Json.Property(root, "candidates");
            if (candidates.ValueKind != JsonValueKind.Array || candidates.GetArrayLength() == 0)
            {
                if (Json.String(Json.Property(root, "promptFeedback"), "blockReason") is not null)
                {
                    _finishSeen = true;
                    sink.Finish(LlmFinishReason.ContentFilter, null);
                }

                return;
            }

            var candidate = candidates[0];
            var parts = Json.Property(Json.Property(candidate, "content"), "parts");
            if (parts.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in parts.EnumerateArray())
                {
                    ReadPart(part, sink);
                }
            }

            if (Json.String(candidate, "finishReason") is { } finish && finish != "FINISH_REASON_UNSPECIFIED")
            {
                _finishSeen = true;

                // Newer models send the functionCall and the STOP in separate chunks: remember the calls across them.
                sink.Finish(FinishReasons.FromGemini(finish, _sawToolCall), null);
            }
        }
    }

    public override void OnEndOfStream(ILlmStreamSink sink, bool finishSeen) => base.OnEndOfStream(sink, finishSeen || _finishSeen);

    private void ReadPart(JsonElement part, ILlmStreamSink sink)
    {
        var text = Json.Property(part, "text");
        if (text.ValueKind == JsonValueKind.String && text.RawLength() > 2)
        {
            if (Json.Property(part, "thought").ValueKind == JsonValueKind.True)
            {
                sink.Reasoning(Json.Raw(text));
            }
            else
            {
                sink.Text(Json.Raw(text));
            }
        }

        var call = Json.Property(part, "functionCall");
        if (call.ValueKind == JsonValueKind.Object)
        {
            // Function calls arrive whole: one start and one arguments delta.
            var tool = _nextTool++;
            _sawToolCall = true;
            sink.ToolCallStart(tool, GeminiThoughtSignatures.CreateCallId(Json.String(part, "thoughtSignature")), Json.String(call, "name") ?? "");
            var args = Json.Property(call, "args");
            sink.ToolCallArguments(tool, Json.EncodeLiteral(args.ValueKind == JsonValueKind.Object ? Json.Raw(args) : "{}"u8));
        }
    }

    public static LlmUsage ReadUsage(JsonElement usage)
    {
        var thoughts = Json.Long(usage, "thoughtsTokenCount");
        return new LlmUsage
        {
            InputTokens = Json.Long(usage, "promptTokenCount") + Json.Long(usage, "toolUsePromptTokenCount"),
            CachedInputTokens = Json.Long(usage, "cachedContentTokenCount"),
            OutputTokens = Json.Long(usage, "candidatesTokenCount") + thoughts,
            ReasoningTokens = thoughts,
        };
    }
}

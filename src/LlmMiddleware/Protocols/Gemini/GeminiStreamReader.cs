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
            if (Json.Property(root, "error"u8).ValueKind == JsonValueKind.Object)
            {
                Terminate(sink, Errors.Read(500, data) with { StatusCode = 502 });
                return;
            }

            if (!_started)
            {
                _started = true;
                sink.Start(Json.String(root, "responseId"u8) ?? "", Json.String(root, "modelVersion"u8) ?? "");
            }

            var usage = Json.Property(root, "usageMetadata"u8);
            if (usage.ValueKind == JsonValueKind.Object && usage.TryGetProperty("promptTokenCount"u8, out _))
            {
                sink.Usage(ReadUsage(usage));
            }

            var candidates = Json.Property(root, "candidates"u8);
            if (candidates.ValueKind != JsonValueKind.Array || candidates.GetArrayLength() == 0)
            {
                if (Json.String(Json.Property(root, "promptFeedback"u8), "blockReason"u8) is not null)
                {
                    _finishSeen = true;
                    sink.Finish(LlmFinishReason.ContentFilter, null);
                }

                return;
            }

            var candidate = candidates[0];
            var parts = Json.Property(Json.Property(candidate, "content"u8), "parts"u8);
            if (parts.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in parts.EnumerateArray())
                {
                    ReadPart(part, sink);
                }
            }

            if (Json.String(candidate, "finishReason"u8) is { } finish && finish != "FINISH_REASON_UNSPECIFIED")
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
        var text = Json.Property(part, "text"u8);
        if (text.ValueKind == JsonValueKind.String && text.RawLength() > 2)
        {
            if (Json.Property(part, "thought"u8).ValueKind == JsonValueKind.True)
            {
                sink.Reasoning(Json.Raw(text));
            }
            else
            {
                sink.Text(Json.Raw(text));
            }
        }

        var call = Json.Property(part, "functionCall"u8);
        if (call.ValueKind == JsonValueKind.Object)
        {
            // Function calls arrive whole: one start and one arguments delta.
            var tool = _nextTool++;
            _sawToolCall = true;
            sink.ToolCallStart(tool, GeminiThoughtSignatures.CreateCallId(Json.String(part, "thoughtSignature"u8)), Json.String(call, "name"u8) ?? "");
            var args = Json.Property(call, "args"u8);
            sink.ToolCallArguments(tool, Json.EncodeLiteral(args.ValueKind == JsonValueKind.Object ? Json.Raw(args) : "{}"u8));
        }
    }

    public static LlmUsage ReadUsage(JsonElement usage)
    {
        var thoughts = Json.Long(usage, "thoughtsTokenCount"u8);
        return new LlmUsage
        {
            InputTokens = Json.Long(usage, "promptTokenCount"u8) + Json.Long(usage, "toolUsePromptTokenCount"u8),
            CachedInputTokens = Json.Long(usage, "cachedContentTokenCount"u8),
            OutputTokens = Json.Long(usage, "candidatesTokenCount"u8) + thoughts,
            ReasoningTokens = thoughts,
        };
    }
}

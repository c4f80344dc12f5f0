using System.Text.Json;

namespace LlmMiddleware.Protocols.Bedrock;

/// <summary>
/// Reads Bedrock Converse answers: the complete response (<c>output.message</c>, <c>stopReason</c>, <c>usage</c>) and
/// ConverseStream's events (<c>messageStart</c>, <c>contentBlockStart</c>, <c>contentBlockDelta</c>, <c>messageStop</c>,
/// <c>metadata</c>, and exceptions by their type), as the event-stream framing names them.
/// </summary>
internal sealed class BedrockConverseReader : LlmStreamReader
{
    private readonly Dictionary<long, int> _tools = [];
    private bool _started;
    private LlmFinishReason? _finish;

    public static LlmResponse Read(ReadOnlyMemory<byte> body)
    {
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        var response = new LlmResponse { Usage = Json.Property(root, "usage"u8) is { ValueKind: JsonValueKind.Object } usage ? ReadUsage(usage) : default };
        foreach (var block in Json.Property(Json.Property(Json.Property(root, "output"u8), "message"u8), "content"u8) is { ValueKind: JsonValueKind.Array } content ? content.EnumerateArray() : default)
        {
            if (Json.String(block, "text"u8) is { } text)
            {
                response.Content.Add(new LlmTextPart(text));
            }
            else if (Json.Property(block, "toolUse"u8) is { ValueKind: JsonValueKind.Object } use)
            {
                response.Content.Add(new LlmToolCallPart(Json.String(use, "toolUseId"u8) ?? "", Json.String(use, "name"u8) ?? "", Json.Property(use, "input"u8) is { ValueKind: JsonValueKind.Object } input ? input.GetRawText() : "{}"));
            }
            else if (Json.Property(Json.Property(block, "reasoningContent"u8), "reasoningText"u8) is { ValueKind: JsonValueKind.Object } reasoning)
            {
                response.Content.Add(new LlmReasoningPart(Json.String(reasoning, "text"u8) ?? "") { Signature = Json.String(reasoning, "signature"u8) });
            }
        }

        response.FinishReason = FinishReason(Json.String(root, "stopReason"u8));
        return response;
    }

    public static LlmUsage ReadUsage(JsonElement usage)
    {
        var cacheRead = Json.Long(usage, "cacheReadInputTokens"u8);
        var cacheWrite = Json.Long(usage, "cacheWriteInputTokens"u8);
        return new LlmUsage
        {
            // Like Anthropic, Bedrock's inputTokens leaves out the cache reads and writes.
            InputTokens = Json.Long(usage, "inputTokens"u8) + cacheRead + cacheWrite,
            CachedInputTokens = cacheRead,
            CacheWriteInputTokens = cacheWrite,
            OutputTokens = Json.Long(usage, "outputTokens"u8),
        };
    }

    private static LlmFinishReason FinishReason(string? stopReason) => stopReason switch
    {
        "tool_use" => LlmFinishReason.ToolCalls,
        "max_tokens" or "model_context_window_exceeded" => LlmFinishReason.Length,
        "stop_sequence" => LlmFinishReason.StopSequence,
        "content_filtered" or "guardrail_intervened" => LlmFinishReason.ContentFilter,
        _ => LlmFinishReason.Stop,
    };

    public override void OnEvent(ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> data, ILlmStreamSink sink)
    {
        if (IsTerminated || !TryParse(data, sink, out var doc))
        {
            return;
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (!_started)
            {
                _started = true;
                sink.Start("", "");
            }

            switch (System.Text.Encoding.ASCII.GetString(eventName))
            {
                case "contentBlockStart" when Json.Property(Json.Property(root, "start"u8), "toolUse"u8) is { ValueKind: JsonValueKind.Object } use:
                    _tools[Json.Long(root, "contentBlockIndex"u8)] = _tools.Count;
                    sink.ToolCallStart(_tools.Count - 1, Json.String(use, "toolUseId"u8) ?? "", Json.String(use, "name"u8) ?? "");
                    break;
                case "contentBlockDelta":
                    var delta = Json.Property(root, "delta"u8);
                    if (Json.Property(delta, "text"u8) is { ValueKind: JsonValueKind.String } text)
                    {
                        sink.Text(Json.Raw(text));
                    }
                    else if (Json.Property(Json.Property(delta, "toolUse"u8), "input"u8) is { ValueKind: JsonValueKind.String } input && _tools.TryGetValue(Json.Long(root, "contentBlockIndex"u8), out var tool))
                    {
                        sink.ToolCallArguments(tool, Json.Raw(input));
                    }
                    else if (Json.Property(delta, "reasoningContent"u8) is { ValueKind: JsonValueKind.Object } reasoning)
                    {
                        if (Json.Property(reasoning, "text"u8) is { ValueKind: JsonValueKind.String } thought)
                        {
                            sink.Reasoning(Json.Raw(thought));
                        }
                        else if (Json.Property(reasoning, "signature"u8) is { ValueKind: JsonValueKind.String } signature)
                        {
                            sink.ReasoningSignature(Json.Raw(signature));
                        }
                    }

                    break;
                case "messageStop":
                    _finish = FinishReason(Json.String(root, "stopReason"u8));
                    break;
                case "metadata":
                    // The last event: usage, after messageStop.
                    sink.Usage(ReadUsage(Json.Property(root, "usage"u8)));
                    sink.Finish(_finish ?? LlmFinishReason.Stop, null);
                    Terminate(sink, null);
                    break;
                case var name when name.EndsWith("Exception", StringComparison.Ordinal):
                    Terminate(sink, new LlmError(name == "throttlingException" ? LlmErrorKind.RateLimit : LlmErrorKind.Server, Json.String(root, "message"u8) ?? name, name == "throttlingException" ? 429 : 502) { Code = name });
                    break;
            }
        }
    }
}

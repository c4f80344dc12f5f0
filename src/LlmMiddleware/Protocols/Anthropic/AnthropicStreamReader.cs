using System.Text.Json;

namespace LlmMiddleware.Protocols.Anthropic;

/// <summary>Reads Anthropic Messages SSE events (protocols reference §3.1, §3.3).</summary>
internal sealed class AnthropicStreamReader(TranslationState state) : LlmStreamReader
{
    private readonly Dictionary<int, int> _toolByBlock = [];
    private int _jsonToolBlock = -1;
    private int _nextTool;
    private LlmUsage _usage;

    public override void OnEvent(ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> data, ILlmStreamSink sink)
    {
        if (IsTerminated || eventName.SequenceEqual("ping"u8))
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
            var type = Json.Property(root, "type");
            var name = type.ValueKind == JsonValueKind.String ? Json.Raw(type)[1..^1] : eventName;
            if (name.SequenceEqual("content_block_delta"u8))
            {
                OnDelta(root, sink);
            }
            else if (name.SequenceEqual("content_block_start"u8))
            {
                OnBlockStart(root, sink);
            }
            else if (name.SequenceEqual("message_start"u8))
            {
                var message = Json.Property(root, "message");
                _usage = AnthropicResponseCodec.ReadUsage(Json.Property(message, "usage"));
                sink.Usage(_usage);
                sink.Start(Json.String(message, "id") ?? "", Json.String(message, "model") ?? "");
            }
            else if (name.SequenceEqual("message_delta"u8))
            {
                _usage = AnthropicResponseCodec.ReadUsage(Json.Property(root, "usage"), _usage);
                sink.Usage(_usage);
                var stop = Json.Property(Json.Property(root, "delta"), "stop_reason");
                if (stop.ValueKind == JsonValueKind.String)
                {
                    var reason = FinishReasons.FromAnthropic(Json.Raw(stop)[1..^1]);
                    if (reason == LlmFinishReason.ToolCalls && _jsonToolBlock >= 0 && _toolByBlock.Count == 0)
                    {
                        reason = LlmFinishReason.Stop;
                    }

                    sink.Finish(reason, Json.String(Json.Property(root, "delta"), "stop_sequence"));
                }
            }
            else if (name.SequenceEqual("message_stop"u8))
            {
                Terminate(sink, null);
            }
            else if (name.SequenceEqual("error"u8))
            {
                Terminate(sink, Errors.Read(500, data) with { StatusCode = 0 });
            }
        }
    }

    private void OnBlockStart(JsonElement root, ILlmStreamSink sink)
    {
        var index = (int)Json.Long(root, "index");
        var block = Json.Property(root, "content_block");
        switch (Json.String(block, "type"))
        {
            case "tool_use" when state.JsonToolMode && Json.String(block, "name") == TranslationState.JsonToolName:
                _jsonToolBlock = index;
                break;
            case "tool_use":
                var tool = _nextTool++;
                _toolByBlock[index] = tool;
                sink.ToolCallStart(tool, Json.String(block, "id") ?? "", state.RestoreToolName(Json.String(block, "name") ?? ""));
                break;
            case "text":
                var text = Json.Property(block, "text");
                if (text.ValueKind == JsonValueKind.String && text.RawLength() > 2)
                {
                    sink.Text(Json.Raw(text));
                }

                break;
            case "thinking":
                var thinking = Json.Property(block, "thinking");
                if (thinking.ValueKind == JsonValueKind.String && thinking.RawLength() > 2)
                {
                    sink.Reasoning(Json.Raw(thinking));
                }

                break;
        }
    }

    private void OnDelta(JsonElement root, ILlmStreamSink sink)
    {
        var index = (int)Json.Long(root, "index");
        var delta = Json.Property(root, "delta");
        var type = Json.Property(delta, "type");
        if (type.ValueKind != JsonValueKind.String)
        {
            return;
        }

        var kind = Json.Raw(type)[1..^1];
        if (kind.SequenceEqual("text_delta"u8))
        {
            var text = Json.Property(delta, "text");
            if (text.RawLength() > 2)
            {
                sink.Text(Json.Raw(text));
            }
        }
        else if (kind.SequenceEqual("input_json_delta"u8))
        {
            var fragment = Json.Property(delta, "partial_json");
            if (fragment.ValueKind != JsonValueKind.String || fragment.RawLength() <= 2)
            {
                return;
            }

            if (index == _jsonToolBlock)
            {
                // JSON mode: the forced tool's input is the answer text.
                sink.Text(Json.Raw(fragment));
            }
            else if (_toolByBlock.TryGetValue(index, out var tool))
            {
                sink.ToolCallArguments(tool, Json.Raw(fragment));
            }
        }
        else if (kind.SequenceEqual("thinking_delta"u8))
        {
            var thinking = Json.Property(delta, "thinking");
            if (thinking.RawLength() > 2)
            {
                sink.Reasoning(Json.Raw(thinking));
            }
        }
        else if (kind.SequenceEqual("signature_delta"u8))
        {
            var signature = Json.Property(delta, "signature");
            if (signature.ValueKind == JsonValueKind.String)
            {
                sink.ReasoningSignature(Json.Raw(signature));
            }
        }
    }
}

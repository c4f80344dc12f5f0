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
            var type = Json.Property(root, "type"u8);
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
                var message = Json.Property(root, "message"u8);
                _usage = AnthropicResponseCodec.ReadUsage(Json.Property(message, "usage"u8));
                sink.Usage(_usage);
                sink.Start(Json.String(message, "id"u8) ?? "", Json.String(message, "model"u8) ?? "");
            }
            else if (name.SequenceEqual("message_delta"u8))
            {
                _usage = AnthropicResponseCodec.ReadUsage(Json.Property(root, "usage"u8), _usage);
                sink.Usage(_usage);
                var stop = Json.Property(Json.Property(root, "delta"u8), "stop_reason"u8);
                if (stop.ValueKind == JsonValueKind.String)
                {
                    var reason = FinishReasons.FromAnthropic(Json.Raw(stop)[1..^1]);
                    if (reason == LlmFinishReason.ToolCalls && _jsonToolBlock >= 0 && _toolByBlock.Count == 0)
                    {
                        reason = LlmFinishReason.Stop;
                    }

                    sink.Finish(reason, Json.String(Json.Property(root, "delta"u8), "stop_sequence"u8));
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
        var index = (int)Json.Long(root, "index"u8);
        var block = Json.Property(root, "content_block"u8);
        switch (Json.String(block, "type"u8))
        {
            case "tool_use" when state.JsonToolMode && Json.String(block, "name"u8) == TranslationState.JsonToolName:
                _jsonToolBlock = index;
                break;
            case "tool_use":
                var tool = _nextTool++;
                _toolByBlock[index] = tool;
                sink.ToolCallStart(tool, Json.String(block, "id"u8) ?? "", state.RestoreToolName(Json.String(block, "name"u8) ?? ""));
                break;
            case "text":
                var text = Json.Property(block, "text"u8);
                if (text.ValueKind == JsonValueKind.String && text.RawLength() > 2)
                {
                    sink.Text(Json.Raw(text));
                }

                break;
            case "thinking":
                var thinking = Json.Property(block, "thinking"u8);
                if (thinking.ValueKind == JsonValueKind.String && thinking.RawLength() > 2)
                {
                    sink.Reasoning(Json.Raw(thinking));
                }

                break;
        }
    }

    private void OnDelta(JsonElement root, ILlmStreamSink sink)
    {
        var index = (int)Json.Long(root, "index"u8);
        var delta = Json.Property(root, "delta"u8);
        var type = Json.Property(delta, "type"u8);
        if (type.ValueKind != JsonValueKind.String)
        {
            return;
        }

        var kind = Json.Raw(type)[1..^1];
        if (kind.SequenceEqual("text_delta"u8))
        {
            var text = Json.Property(delta, "text"u8);
            if (text.RawLength() > 2)
            {
                sink.Text(Json.Raw(text));
            }
        }
        else if (kind.SequenceEqual("input_json_delta"u8))
        {
            var fragment = Json.Property(delta, "partial_json"u8);
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
            var thinking = Json.Property(delta, "thinking"u8);
            if (thinking.RawLength() > 2)
            {
                sink.Reasoning(Json.Raw(thinking));
            }
        }
        else if (kind.SequenceEqual("signature_delta"u8))
        {
            var signature = Json.Property(delta, "signature"u8);
            if (signature.ValueKind == JsonValueKind.String)
            {
                sink.ReasoningSignature(Json.Raw(signature));
            }
        }
    }
}

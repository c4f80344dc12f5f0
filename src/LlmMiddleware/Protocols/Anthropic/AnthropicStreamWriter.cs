using System.Buffers;
using System.Text;
using System.Text.Json;
using LlmMiddleware.Protocols.Sse;

namespace LlmMiddleware.Protocols.Anthropic;

/// <summary>
/// Writes protocol-neutral stream events as Anthropic Messages SSE (protocols reference §3.1, §3.4): one content block
/// open at a time, opened and closed as the content kind changes, and the final <c>message_delta</c> held until usage
/// is known. The first tool call streams live; further parallel calls are buffered and emitted whole when the live one
/// ends, so providers that interleave argument deltas across calls still produce well-formed sequential blocks.
/// </summary>
internal sealed class AnthropicStreamWriter : ILlmStreamSink
{
    private enum BlockKind
    {
        None,
        Text,
        Thinking,
        Tool,
    }

    private readonly IBufferWriter<byte> _output;
    private readonly Utf8JsonWriter _json;
    private readonly List<(int Index, string Id, string Name, StringBuilder Arguments)> _pendingTools = [];
    private int _liveTool = -1;
    private BlockKind _open;
    private int _openIndex = -1;
    private int _nextBlock;
    private bool _started;
    private LlmUsage _usage;
    private LlmFinishReason? _finish;
    private string? _stopSequence;

    public AnthropicStreamWriter(IBufferWriter<byte> output)
    {
        _output = output;
        _json = new Utf8JsonWriter(output, Json.WriterOptions);
    }

    public static string MessageId(string id) => id.StartsWith("msg_", StringComparison.Ordinal) ? id : "msg_" + (id.Length > 0 ? ToolSchemas.SanitizeId(id) : Guid.NewGuid().ToString("N"));

    public void Start(string id, string model)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        Begin("message_start"u8);
        _json.WriteString("type"u8, "message_start"u8);
        _json.WriteStartObject("message"u8);
        _json.WriteString("id"u8, MessageId(id));
        _json.WriteString("type"u8, "message"u8);
        _json.WriteString("role"u8, "assistant"u8);
        _json.WriteString("model"u8, model);
        _json.WriteStartArray("content"u8);
        _json.WriteEndArray();
        _json.WriteNull("stop_reason"u8);
        _json.WriteNull("stop_sequence"u8);
        _json.WritePropertyName("usage"u8);
        AnthropicResponseCodec.WriteUsage(_json, _usage);
        _json.WriteEndObject();
        End();
    }

    public void Text(ReadOnlySpan<byte> jsonString)
    {
        EnsureBlock(BlockKind.Text);
        Delta(_openIndex, "text_delta"u8, "text"u8, jsonString);
    }

    public void Reasoning(ReadOnlySpan<byte> jsonString)
    {
        EnsureBlock(BlockKind.Thinking);
        Delta(_openIndex, "thinking_delta"u8, "thinking"u8, jsonString);
    }

    public void ReasoningSignature(ReadOnlySpan<byte> jsonString)
    {
        if (_open == BlockKind.Thinking)
        {
            Delta(_openIndex, "signature_delta"u8, "signature"u8, jsonString);
        }
    }

    public void ToolCallStart(int index, string id, string name)
    {
        if (_liveTool >= 0 || _pendingTools.Count > 0)
        {
            _pendingTools.Add((index, id, name, new StringBuilder()));
            return;
        }

        CloseOpenBlock();
        _liveTool = index;
        _open = BlockKind.Tool;
        _openIndex = _nextBlock++;
        StartToolBlock(_openIndex, id, name);
    }

    public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString)
    {
        if (index == _liveTool)
        {
            Delta(_openIndex, "input_json_delta"u8, "partial_json"u8, jsonString);
            return;
        }

        foreach (var pending in _pendingTools)
        {
            if (pending.Index == index)
            {
                pending.Arguments.Append(Json.DecodeLiteral(jsonString));
                return;
            }
        }
    }

    public void Usage(in LlmUsage usage) => _usage = usage;

    public void Finish(LlmFinishReason reason, string? stopSequence)
    {
        _finish = reason;
        _stopSequence = stopSequence;
    }

    public void Error(LlmError error)
    {
        EnsureStarted();
        SseFormat.WriteEventPrefix(_output, "error"u8);
        Errors.WriteAnthropic(_json, error);
        _json.Flush();
        _json.Reset();
        SseFormat.WriteEnd(_output);
    }

    public void Complete()
    {
        EnsureStarted();
        CloseOpenBlock();
        Begin("message_delta"u8);
        _json.WriteString("type"u8, "message_delta"u8);
        _json.WriteStartObject("delta"u8);
        _json.WriteString("stop_reason"u8, FinishReasons.ToAnthropic(_finish ?? LlmFinishReason.Stop));
        if (_finish == LlmFinishReason.StopSequence && _stopSequence is not null)
        {
            _json.WriteString("stop_sequence"u8, _stopSequence);
        }
        else
        {
            _json.WriteNull("stop_sequence"u8);
        }

        _json.WriteEndObject();
        _json.WritePropertyName("usage"u8);
        AnthropicResponseCodec.WriteUsage(_json, _usage);
        End();

        Begin("message_stop"u8);
        _json.WriteString("type"u8, "message_stop"u8);
        End();
    }

    private void EnsureStarted()
    {
        if (!_started)
        {
            Start("", "");
        }
    }

    private void EnsureBlock(BlockKind kind)
    {
        EnsureStarted();
        if (_open == kind)
        {
            return;
        }

        CloseOpenBlock();
        _open = kind;
        _openIndex = _nextBlock++;
        Begin("content_block_start"u8);
        _json.WriteString("type"u8, "content_block_start"u8);
        _json.WriteNumber("index"u8, _openIndex);
        _json.WriteStartObject("content_block"u8);
        if (kind == BlockKind.Text)
        {
            _json.WriteString("type"u8, "text"u8);
            _json.WriteString("text"u8, ""u8);
        }
        else
        {
            _json.WriteString("type"u8, "thinking"u8);
            _json.WriteString("thinking"u8, ""u8);
            _json.WriteString("signature"u8, ""u8);
        }

        _json.WriteEndObject();
        End();
    }

    private void CloseOpenBlock()
    {
        if (_open != BlockKind.None)
        {
            StopBlock(_openIndex);
        }

        _open = BlockKind.None;
        _openIndex = -1;
        _liveTool = -1;

        // Buffered parallel tool calls follow the live one, each as a whole block.
        foreach (var (_, id, name, arguments) in _pendingTools)
        {
            var block = _nextBlock++;
            StartToolBlock(block, id, name);
            if (arguments.Length > 0)
            {
                Delta(block, "input_json_delta"u8, "partial_json"u8, Json.EncodeLiteral(arguments.ToString()));
            }

            StopBlock(block);
        }

        _pendingTools.Clear();
    }

    private void StartToolBlock(int block, string id, string name)
    {
        Begin("content_block_start"u8);
        _json.WriteString("type"u8, "content_block_start"u8);
        _json.WriteNumber("index"u8, block);
        _json.WriteStartObject("content_block"u8);
        _json.WriteString("type"u8, "tool_use"u8);
        _json.WriteString("id"u8, ToolSchemas.SanitizeId(id));
        _json.WriteString("name"u8, name);
        _json.WriteStartObject("input"u8);
        _json.WriteEndObject();
        _json.WriteStartObject("caller"u8);
        _json.WriteString("type"u8, "direct"u8);
        _json.WriteEndObject();
        _json.WriteEndObject();
        End();
    }

    private void StopBlock(int index)
    {
        Begin("content_block_stop"u8);
        _json.WriteString("type"u8, "content_block_stop"u8);
        _json.WriteNumber("index"u8, index);
        End();
    }

    private void Delta(int index, ReadOnlySpan<byte> deltaType, ReadOnlySpan<byte> field, ReadOnlySpan<byte> jsonString)
    {
        Begin("content_block_delta"u8);
        _json.WriteString("type"u8, "content_block_delta"u8);
        _json.WriteNumber("index"u8, index);
        _json.WriteStartObject("delta"u8);
        _json.WriteString("type"u8, deltaType);
        _json.WritePropertyName(field);
        _json.WriteRawValue(jsonString, skipInputValidation: true);
        _json.WriteEndObject();
        End();
    }

    private void Begin(ReadOnlySpan<byte> eventName)
    {
        SseFormat.WriteEventPrefix(_output, eventName);
        _json.WriteStartObject();
    }

    private void End()
    {
        _json.WriteEndObject();
        _json.Flush();
        _json.Reset();
        SseFormat.WriteEnd(_output);
    }
}

using System.Buffers;
using System.Text.Json;
using LlmMiddleware.Protocols.Sse;

namespace LlmMiddleware.Protocols.Responses;

/// <summary>
/// Writes protocol-neutral stream events as the Responses event sequence the OpenAI SDKs parse: <c>response.created</c>,
/// each output item opened (<c>output_item.added</c>), its deltas (<c>output_text</c>, <c>reasoning_summary_text</c>,
/// <c>function_call_arguments</c>), its <c>.done</c> events, and <c>response.completed</c> (or <c>.incomplete</c>) with
/// the whole response and its usage, each numbered by <c>sequence_number</c>. With events off it writes only that final
/// response object: the complete (non-streamed) answer, built by the same code.
/// </summary>
internal sealed class ResponsesStreamWriter : ILlmStreamSink
{
    private readonly IBufferWriter<byte> _output;
    private readonly Utf8JsonWriter _json;
    private readonly bool _events;
    private readonly long _created;
    private readonly List<(int Index, byte[] Json)> _done = [];
    private readonly List<Call> _calls = [];
    private readonly ArrayBufferWriter<byte> _text = new(256);
    private readonly ArrayBufferWriter<byte> _signature = new(16);
    private string _id = "";
    private string _model = "";
    private int _sequence;
    private int _nextOutput;
    private Open _open;
    private int _openIndex;
    private string _openId = "";
    private LlmUsage? _usage;
    private LlmFinishReason _finish;
    private bool _started;

    public ResponsesStreamWriter(IBufferWriter<byte> output, long created, bool events)
    {
        _output = output;
        _created = created;
        _events = events;
        _json = new Utf8JsonWriter(output, Json.WriterOptions);
    }

    private enum Open
    {
        None,
        Message,
        Reasoning,
    }

    public void Start(string id, string model)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        _id = ResponsesOutput.ResponseId(id);
        _model = model;
        if (_events)
        {
            WriteInProgress("response.created"u8);
            WriteInProgress("response.in_progress"u8);
        }
    }

    private void WriteInProgress(ReadOnlySpan<byte> name)
    {
        BeginEvent(name);
        _json.WritePropertyName("response"u8);
        ResponsesOutput.WriteResponse(_json, _id, _model, _created, "in_progress", null, null, 0, static (_, _) => { });
        EndEvent();
    }

    public void Text(ReadOnlySpan<byte> jsonString) => Delta(Open.Message, jsonString);

    public void Reasoning(ReadOnlySpan<byte> jsonString) => Delta(Open.Reasoning, jsonString);

    private void Delta(Open kind, ReadOnlySpan<byte> jsonString)
    {
        OpenItem(kind);
        Append(_text, jsonString);
        if (_events)
        {
            BeginEvent(kind == Open.Message ? "response.output_text.delta"u8 : "response.reasoning_summary_text.delta"u8);
            WriteItemRef();
            _json.WriteNumber(kind == Open.Message ? "content_index"u8 : "summary_index"u8, 0);
            _json.WritePropertyName("delta"u8);
            _json.WriteRawValue(jsonString, skipInputValidation: true);
            if (kind == Open.Message)
            {
                _json.WriteStartArray("logprobs"u8);
                _json.WriteEndArray();
            }

            EndEvent();
        }
    }

    public void ReasoningSignature(ReadOnlySpan<byte> jsonString)
    {
        OpenItem(Open.Reasoning);
        Append(_signature, jsonString);
    }

    public void ToolCallStart(int index, string id, string name)
    {
        EnsureStarted();
        CloseItem();
        var call = new Call(_nextOutput++, ResponsesOutput.ItemId("fc", _id, _nextOutput - 1), id, name);
        while (_calls.Count <= index)
        {
            _calls.Add(null!);
        }

        _calls[index] = call;
        if (_events)
        {
            BeginEvent("response.output_item.added"u8);
            _json.WriteNumber("output_index"u8, call.OutputIndex);
            _json.WritePropertyName("item"u8);
            ResponsesOutput.WriteFunctionCall(_json, call.ItemId, call.CallId, call.Name, "in_progress", default);
            EndEvent();
        }
    }

    public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString)
    {
        if (index >= _calls.Count || _calls[index] is not { } call)
        {
            return;
        }

        Append(call.Arguments, jsonString);
        if (_events)
        {
            BeginEvent("response.function_call_arguments.delta"u8);
            _json.WriteString("item_id"u8, call.ItemId);
            _json.WriteNumber("output_index"u8, call.OutputIndex);
            _json.WritePropertyName("delta"u8);
            _json.WriteRawValue(jsonString, skipInputValidation: true);
            EndEvent();
        }
    }

    public void Usage(in LlmUsage usage) => _usage = usage;

    public void Finish(LlmFinishReason reason, string? stopSequence) => _finish = reason;

    public void Error(LlmError error)
    {
        if (!_events)
        {
            return;
        }

        BeginEvent("error"u8);
        _json.WriteString("code"u8, error.Code ?? error.Kind.ToString());
        _json.WriteString("message"u8, error.Message);
        if (error.Param is { } param)
        {
            _json.WriteString("param"u8, param);
        }
        else
        {
            _json.WriteNull("param"u8);
        }

        EndEvent();
    }

    public void Complete()
    {
        EnsureStarted();
        CloseItem();
        foreach (var call in _calls)
        {
            if (call is not null)
            {
                CloseCall(call);
            }
        }

        _done.Sort((a, b) => a.Index.CompareTo(b.Index));
        var (status, reason) = ResponsesOutput.Status(_finish);
        if (_events)
        {
            BeginEvent(status == "completed" ? "response.completed"u8 : "response.incomplete"u8);
            _json.WritePropertyName("response"u8);
        }

        ResponsesOutput.WriteResponse(_json, _id, _model, _created, status, reason, _usage ?? default, _done, static (writer, done) =>
        {
            foreach (var (_, item) in done)
            {
                writer.WriteRawValue(item, skipInputValidation: true);
            }
        });
        if (_events)
        {
            EndEvent();
        }
        else
        {
            _json.Flush();
        }
    }

    private void EnsureStarted()
    {
        if (!_started)
        {
            Start("", "");
        }
    }

    /// <summary>Makes <paramref name="kind"/> the open item, closing another first; a new item is announced.</summary>
    private void OpenItem(Open kind)
    {
        EnsureStarted();
        if (_open == kind)
        {
            return;
        }

        CloseItem();
        _open = kind;
        _openIndex = _nextOutput++;
        _openId = ResponsesOutput.ItemId(kind == Open.Message ? "msg" : "rs", _id, _openIndex);
        if (!_events)
        {
            return;
        }

        BeginEvent("response.output_item.added"u8);
        _json.WriteNumber("output_index"u8, _openIndex);
        _json.WritePropertyName("item"u8);
        if (kind == Open.Message)
        {
            ResponsesOutput.WriteMessage(_json, _openId, "in_progress", default, withPart: false);
        }
        else
        {
            ResponsesOutput.WriteReasoning(_json, _openId, default, default);
        }

        EndEvent();
        BeginEvent(kind == Open.Message ? "response.content_part.added"u8 : "response.reasoning_summary_part.added"u8);
        WriteItemRef();
        _json.WriteNumber(kind == Open.Message ? "content_index"u8 : "summary_index"u8, 0);
        _json.WritePropertyName("part"u8);
        WritePart(kind, default);
        EndEvent();
    }

    private void CloseItem()
    {
        if (_open == Open.None)
        {
            return;
        }

        var kind = _open;
        _open = Open.None;
        var text = _text.WrittenSpan;
        if (_events)
        {
            BeginEvent(kind == Open.Message ? "response.output_text.done"u8 : "response.reasoning_summary_text.done"u8);
            WriteItemRef();
            _json.WriteNumber(kind == Open.Message ? "content_index"u8 : "summary_index"u8, 0);
            ResponsesOutput.WriteEscaped(_json, "text"u8, text);
            if (kind == Open.Message)
            {
                _json.WriteStartArray("logprobs"u8);
                _json.WriteEndArray();
            }

            EndEvent();
            BeginEvent(kind == Open.Message ? "response.content_part.done"u8 : "response.reasoning_summary_part.done"u8);
            WriteItemRef();
            _json.WriteNumber(kind == Open.Message ? "content_index"u8 : "summary_index"u8, 0);
            _json.WritePropertyName("part"u8);
            WritePart(kind, text);
            EndEvent();
        }

        Done(_openIndex, writer =>
        {
            if (kind == Open.Message)
            {
                ResponsesOutput.WriteMessage(writer, _openId, "completed", _text.WrittenSpan, withPart: true);
            }
            else
            {
                ResponsesOutput.WriteReasoning(writer, _openId, _text.WrittenSpan, _signature.WrittenSpan);
            }
        });
        _text.ResetWrittenCount();
        _signature.ResetWrittenCount();
    }

    private void CloseCall(Call call)
    {
        if (_events)
        {
            BeginEvent("response.function_call_arguments.done"u8);
            _json.WriteString("item_id"u8, call.ItemId);
            _json.WriteNumber("output_index"u8, call.OutputIndex);
            ResponsesOutput.WriteEscaped(_json, "arguments"u8, call.Arguments.WrittenSpan);
            EndEvent();
        }

        Done(call.OutputIndex, writer => ResponsesOutput.WriteFunctionCall(writer, call.ItemId, call.CallId, call.Name, "completed", call.Arguments.WrittenSpan));
    }

    /// <summary>Keeps a finished item for the final response and, streaming, announces it with <c>output_item.done</c>.</summary>
    private void Done(int index, Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            write(writer);
        }

        var item = buffer.WrittenSpan.ToArray();
        _done.Add((index, item));
        if (_events)
        {
            BeginEvent("response.output_item.done"u8);
            _json.WriteNumber("output_index"u8, index);
            _json.WritePropertyName("item"u8);
            _json.WriteRawValue(item, skipInputValidation: true);
            EndEvent();
        }
    }

    private void WritePart(Open kind, ReadOnlySpan<byte> escapedText)
    {
        if (kind == Open.Message)
        {
            ResponsesOutput.WriteTextPart(_json, escapedText);
            return;
        }

        _json.WriteStartObject();
        _json.WriteString("type"u8, "summary_text"u8);
        ResponsesOutput.WriteEscaped(_json, "text"u8, escapedText);
        _json.WriteEndObject();
    }

    private void WriteItemRef()
    {
        _json.WriteString("item_id"u8, _openId);
        _json.WriteNumber("output_index"u8, _openIndex);
    }

    private void BeginEvent(ReadOnlySpan<byte> name)
    {
        SseFormat.WriteEventPrefix(_output, name);
        _json.WriteStartObject();
        _json.WriteString("type"u8, name);
        _json.WriteNumber("sequence_number"u8, _sequence++);
    }

    private void EndEvent()
    {
        _json.WriteEndObject();
        _json.Flush();
        _json.Reset();
        SseFormat.WriteEnd(_output);
    }

    // A delta is a JSON string literal; its content (escaped, without the quotes) is what accumulates.
    private static void Append(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> jsonString)
    {
        if (jsonString.Length >= 2)
        {
            buffer.Write(jsonString[1..^1]);
        }
    }

    private sealed record Call(int OutputIndex, string ItemId, string CallId, string Name)
    {
        public ArrayBufferWriter<byte> Arguments { get; } = new(128);
    }
}

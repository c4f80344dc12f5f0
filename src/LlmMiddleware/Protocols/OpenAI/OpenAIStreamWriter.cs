using System.Buffers;
using System.Text.Json;
using LlmMiddleware.Protocols.Sse;

namespace LlmMiddleware.Protocols.OpenAI;

/// <summary>
/// Writes protocol-neutral stream events as OpenAI chat completion chunks (protocols reference §3.2, §3.3).
/// The chunk envelope is serialized once per stream; each event writes only its delta.
/// </summary>
internal sealed class OpenAIStreamWriter : ILlmStreamSink
{
    private readonly IBufferWriter<byte> _output;
    private readonly Utf8JsonWriter _json;
    private readonly bool _includeUsage;
    private readonly long _created;
    private byte[] _envelope = [];
    private LlmUsage _usage;
    private bool _started;

    public OpenAIStreamWriter(IBufferWriter<byte> output, bool includeUsage, long created)
    {
        _output = output;
        _includeUsage = includeUsage;
        _created = created;
        _json = new Utf8JsonWriter(output, Json.WriterOptions);
    }

    public static string ChatId(string id) => id.StartsWith("chatcmpl", StringComparison.Ordinal) ? id : "chatcmpl-" + (id.Length > 0 ? id : Guid.NewGuid().ToString("N"));

    public void Start(string id, string model)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("id"u8, ChatId(id));
            writer.WriteString("object"u8, "chat.completion.chunk"u8);
            writer.WriteNumber("created"u8, _created);
            writer.WriteString("model"u8, model);
            writer.Flush();
        }

        _envelope = [.. buffer.WrittenSpan];
        BeginChoice();
        _json.WriteStartObject();
        _json.WriteString("role"u8, "assistant"u8);
        _json.WriteString("content"u8, ""u8);
        _json.WriteEndObject();
        EndChoice(default);
    }

    public void Text(ReadOnlySpan<byte> jsonString) => WriteDelta("content"u8, jsonString);

    public void Reasoning(ReadOnlySpan<byte> jsonString) => WriteDelta("reasoning_content"u8, jsonString);

    public void ReasoningSignature(ReadOnlySpan<byte> jsonString)
    {
        // OpenAI has no slot for thinking signatures.
    }

    public void ToolCallStart(int index, string id, string name)
    {
        BeginChoice();
        _json.WriteStartObject();
        _json.WriteStartArray("tool_calls"u8);
        _json.WriteStartObject();
        _json.WriteNumber("index"u8, index);
        _json.WriteString("id"u8, id);
        _json.WriteString("type"u8, "function"u8);
        _json.WriteStartObject("function"u8);
        _json.WriteString("name"u8, name);
        _json.WriteString("arguments"u8, ""u8);
        _json.WriteEndObject();
        _json.WriteEndObject();
        _json.WriteEndArray();
        _json.WriteEndObject();
        EndChoice(default);
    }

    public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString)
    {
        BeginChoice();
        _json.WriteStartObject();
        _json.WriteStartArray("tool_calls"u8);
        _json.WriteStartObject();
        _json.WriteNumber("index"u8, index);
        _json.WriteStartObject("function"u8);
        _json.WritePropertyName("arguments"u8);
        _json.WriteRawValue(jsonString, skipInputValidation: true);
        _json.WriteEndObject();
        _json.WriteEndObject();
        _json.WriteEndArray();
        _json.WriteEndObject();
        EndChoice(default);
    }

    public void Usage(in LlmUsage usage) => _usage = usage;

    public void Finish(LlmFinishReason reason, string? stopSequence)
    {
        BeginChoice();
        _json.WriteStartObject();
        _json.WriteEndObject();
        EndChoice(FinishReasons.ToOpenAI(reason));
    }

    public void Error(LlmError error)
    {
        SseFormat.WriteDataPrefix(_output);
        Errors.WriteOpenAI(_json, error);
        _json.Flush();
        _json.Reset();
        SseFormat.WriteEnd(_output);
    }

    public void Complete()
    {
        if (_includeUsage)
        {
            EnsureStarted();
            SseFormat.WriteDataPrefix(_output);
            Json.Write(_output, _envelope);
            Json.Write(_output, ",\"choices\":[],\"usage\":"u8);
            OpenAIResponseCodec.WriteUsageObject(_json, _usage);
            _json.Flush();
            _json.Reset();
            Json.Write(_output, "}"u8);
            SseFormat.WriteEnd(_output);
        }

        Json.Write(_output, "data: [DONE]\n\n"u8);
    }

    private void WriteDelta(ReadOnlySpan<byte> name, ReadOnlySpan<byte> jsonString)
    {
        BeginChoice();
        _json.WriteStartObject();
        _json.WritePropertyName(name);
        _json.WriteRawValue(jsonString, skipInputValidation: true);
        _json.WriteEndObject();
        EndChoice(default);
    }

    private void EnsureStarted()
    {
        if (!_started)
        {
            Start("", "");
        }
    }

    private void BeginChoice()
    {
        EnsureStarted();
        SseFormat.WriteDataPrefix(_output);
        Json.Write(_output, _envelope);
        Json.Write(_output, ",\"choices\":[{\"index\":0,\"delta\":"u8);
    }

    private void EndChoice(ReadOnlySpan<byte> finishReason)
    {
        _json.Flush();
        _json.Reset();
        if (finishReason.IsEmpty)
        {
            Json.Write(_output, ",\"logprobs\":null,\"finish_reason\":null}]}\n\n"u8);
        }
        else
        {
            Json.Write(_output, ",\"logprobs\":null,\"finish_reason\":\""u8);
            Json.Write(_output, finishReason);
            Json.Write(_output, "\"}]}\n\n"u8);
        }
    }
}

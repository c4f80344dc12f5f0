using System.Buffers;
using System.Text;
using System.Text.Json;
using LlmMiddleware.Protocols;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Metering;

/// <summary>
/// What a call delivered to its caller (text, reasoning, tool names and arguments), kept as the JSON string literals
/// the provider sent so capturing costs a copy, not a decode. Counted with the tokenizer only when the provider's usage
/// is missing: a cut stream, a disconnected client, a provider that reports none. Observes the response (a complete
/// one only when its usage lacks the output) and race legs' first content.
/// </summary>
internal sealed class DeliveredOutput : ILlmResponseObserver, IDisposable
{
    private PooledBufferWriter? _literals; // a JSON array of string literals, without its closing bracket

    public bool IsEmpty => _literals is null;

    /// <summary>Appends a JSON string literal (with its quotes).</summary>
    public void AppendLiteral(ReadOnlySpan<byte> jsonString)
    {
        if (jsonString.Length < 2)
        {
            return;
        }

        if (_literals is null)
        {
            _literals = new PooledBufferWriter(1024);
            _literals.Write("["u8);
        }
        else
        {
            _literals.Write(","u8);
        }

        _literals.Write(jsonString);
    }

    /// <summary>Appends plain text.</summary>
    public void AppendText(string text) => AppendLiteral(JsonSerializer.SerializeToUtf8Bytes(text));

    /// <summary>The delivered text, concatenated.</summary>
    public string ToText()
    {
        if (_literals is null)
        {
            return "";
        }

        var text = new StringBuilder();
        var json = new byte[_literals.WrittenCount + 1];
        _literals.WrittenSpan.CopyTo(json);
        json[^1] = (byte)']';
        var reader = new Utf8JsonReader(json);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                text.Append(reader.GetString());
            }
        }

        return text.ToString();
    }

    public bool WantsContent(in LlmUsage usage) => usage.OutputTokens == 0;

    public void Start(string id, string model)
    {
    }

    public void Text(ReadOnlySpan<byte> jsonString) => AppendLiteral(jsonString);

    public void Reasoning(ReadOnlySpan<byte> jsonString) => AppendLiteral(jsonString);

    public void ReasoningSignature(ReadOnlySpan<byte> jsonString)
    {
    }

    public void ToolCallStart(int index, string id, string name) => AppendText(name);

    public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString) => AppendLiteral(jsonString);

    public void Usage(in LlmUsage usage)
    {
    }

    public void Finish(LlmFinishReason reason, string? stopSequence)
    {
    }

    public void Error(LlmError error)
    {
    }

    public void Complete()
    {
    }

    public void Dispose()
    {
        _literals?.Dispose();
        _literals = null;
    }
}

using System.Text;

namespace LlmMiddleware.Protocols;

/// <summary>Collects stream events into a complete <see cref="LlmResponse"/>: for providers whose non-streamed
/// response has the shape of a stream event (Gemini), and to capture a stream for the response cache.</summary>
internal sealed class ResponseBuilder : ILlmStreamSink
{
    private readonly StringBuilder _text = new();
    private readonly StringBuilder _reasoning = new();
    private readonly StringBuilder _signature = new();
    private readonly List<(string Id, string Name, StringBuilder Arguments)> _tools = [];
    private readonly LlmResponse _response = new();

    public LlmError? Failure { get; private set; }

    public LlmResponse Build()
    {
        if (_reasoning.Length > 0)
        {
            _response.Content.Add(new LlmReasoningPart(_reasoning.ToString()) { Signature = _signature.Length > 0 ? _signature.ToString() : null });
        }

        if (_text.Length > 0)
        {
            _response.Content.Add(new LlmTextPart(_text.ToString()));
        }

        foreach (var (id, name, arguments) in _tools)
        {
            _response.Content.Add(new LlmToolCallPart(id, name, Json.NormalizeObjectJson(arguments.ToString())));
        }

        return _response;
    }

    public void Start(string id, string model)
    {
        _response.Id = id;
        _response.Model = model;
    }

    public void Text(ReadOnlySpan<byte> jsonString) => _text.Append(Json.DecodeLiteral(jsonString));

    public void Reasoning(ReadOnlySpan<byte> jsonString) => _reasoning.Append(Json.DecodeLiteral(jsonString));

    public void ReasoningSignature(ReadOnlySpan<byte> jsonString) => _signature.Append(Json.DecodeLiteral(jsonString));

    public void ToolCallStart(int index, string id, string name) => _tools.Add((id, name, new StringBuilder()));

    public void ToolCallArguments(int index, ReadOnlySpan<byte> jsonString) => _tools[index].Arguments.Append(Json.DecodeLiteral(jsonString));

    public void Usage(in LlmUsage usage) => _response.Usage = usage;

    public void Finish(LlmFinishReason reason, string? stopSequence)
    {
        _response.FinishReason = reason;
        _response.StopSequence = stopSequence;
    }

    public void Error(LlmError error) => Failure = error;

    public void Complete()
    {
    }
}

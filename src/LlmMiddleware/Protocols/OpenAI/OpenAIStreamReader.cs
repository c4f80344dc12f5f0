using System.Text.Json;
using LlmMiddleware.Protocols.Gemini;

namespace LlmMiddleware.Protocols.OpenAI;

/// <summary>Reads OpenAI-style chat completion chunks (OpenAI, Azure and the OpenAI-compatible family).</summary>
internal sealed class OpenAIStreamReader(TranslationState state) : LlmStreamReader
{
    private readonly Dictionary<int, (int Tool, string? Id)> _tools = [];
    private bool _started;
    private bool _finishSeen;
    private bool _sawToolCall;
    private int _nextTool;
    private int _lastTool = -1;


    public override void OnEvent(ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> data, ILlmStreamSink sink)
    {
        if (IsTerminated)
        {
            return;
        }

        if (data.SequenceEqual("[DONE]"u8))
        {
            Terminate(sink, null);
            return;
        }

        if (!TryParse(data, sink, out var doc))
        {
            return;
        }

        using (doc)
        {
            var root = doc.RootElement;
            var error = Json.Property(root, "error"u8);
            if (error.ValueKind == JsonValueKind.Object)
            {
                Terminate(sink, Errors.Read(500, data) with { StatusCode = 502 });
                return;
            }

            if (!_started)
            {
                _started = true;
                sink.Start(Json.String(root, "id"u8) ?? "", Json.String(root, "model"u8) ?? "");
            }

            var choices = Json.Property(root, "choices"u8);
            if (choices.ValueKind == JsonValueKind.Array)
            {
                foreach (var choice in choices.EnumerateArray())
                {
                    if (Json.Long(choice, "index"u8) != 0)
                    {
                        continue;
                    }

                    if (!ReadChoice(choice, sink))
                    {
                        return;
                    }
                }
            }

            var usage = Json.Property(root, "usage"u8);
            if (usage.ValueKind == JsonValueKind.Object)
            {
                sink.Usage(OpenAIResponseCodec.ReadUsage(usage));
            }
        }
    }

    public override void OnEndOfStream(ILlmStreamSink sink, bool finishSeen) => base.OnEndOfStream(sink, finishSeen || _finishSeen);

    private bool ReadChoice(JsonElement choice, ILlmStreamSink sink)
    {
        var delta = Json.Property(choice, "delta"u8);
        if (delta.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in delta.EnumerateObject())
            {
                var value = property.Value;
                if (property.NameEquals("content") || property.NameEquals("refusal"))
                {
                    if (value.ValueKind == JsonValueKind.String && value.RawLength() > 2)
                    {
                        sink.Text(Json.Raw(value));
                    }
                }
                else if (property.NameEquals("reasoning_content") || property.NameEquals("reasoning"))
                {
                    if (value.ValueKind == JsonValueKind.String && value.RawLength() > 2)
                    {
                        sink.Reasoning(Json.Raw(value));
                    }
                }
                else if (property.NameEquals("tool_calls") && value.ValueKind == JsonValueKind.Array)
                {
                    foreach (var call in value.EnumerateArray())
                    {
                        ReadToolCall(call, sink);
                    }
                }
            }
        }

        var finish = Json.Property(choice, "finish_reason"u8);
        if (finish.ValueKind == JsonValueKind.String)
        {
            var reason = Json.Raw(finish)[1..^1];
            if (reason.SequenceEqual("error"u8))
            {
                // OpenRouter reports mid-stream failures as finish_reason "error".
                Terminate(sink, StreamBroken("The provider reported an error mid-stream."));
                return false;
            }

            _finishSeen = true;
            var mapped = FinishReasons.FromOpenAI(reason);
            sink.Finish(mapped == LlmFinishReason.Stop && _sawToolCall ? LlmFinishReason.ToolCalls : mapped, null);
        }

        return true;
    }

    private void ReadToolCall(JsonElement call, ILlmStreamSink sink)
    {
        var id = Json.String(call, "id"u8);
        var function = Json.Property(call, "function"u8);
        int tool;
        var hasIndex = call.TryGetProperty("index"u8, out var indexElement) && indexElement.TryGetInt32(out _);
        var key = hasIndex ? indexElement.GetInt32() : -1;
        if (_tools.TryGetValue(key, out var known) && (string.IsNullOrEmpty(id) || id == known.Id))
        {
            tool = known.Tool;
        }
        else if (!hasIndex && string.IsNullOrEmpty(id) && _lastTool >= 0)
        {
            tool = _lastTool;
        }
        else
        {
            // A new index, or a new non-empty id on a reused or missing index (Gemini's OpenAI endpoint), opens a call.
            tool = _nextTool++;
            _tools[key] = (tool, id);
            _lastTool = tool;
            _sawToolCall = true;
            var callId = GeminiThoughtSignatures.Attach(id is { Length: > 0 } ? id : ToolSchemas.SanitizeId(""), GeminiThoughtSignatures.FromOpenAIToolCall(call));
            sink.ToolCallStart(tool, callId, state.RestoreToolName(Json.String(function, "name"u8) ?? ""));
        }

        var arguments = Json.Property(function, "arguments"u8);
        if (arguments.ValueKind == JsonValueKind.String && arguments.RawLength() > 2)
        {
            sink.ToolCallArguments(tool, Json.Raw(arguments));
        }
        else if (arguments.ValueKind == JsonValueKind.Object)
        {
            sink.ToolCallArguments(tool, Json.EncodeLiteral(Json.Raw(arguments)));
        }
    }
}

using System.Text.Json;

namespace LlmMiddleware.Protocols.Responses;

/// <summary>
/// Reads OpenAI's Responses event stream (a Responses call passed through): text, reasoning and function-call deltas,
/// and the usage and outcome of <c>response.completed</c> / <c>.incomplete</c>; <c>response.failed</c> and <c>error</c>
/// end it with the error.
/// </summary>
internal sealed class ResponsesStreamReader : LlmStreamReader
{
    private readonly Dictionary<string, int> _calls = new(StringComparer.Ordinal);
    private bool _started;

    public override void OnEvent(ReadOnlySpan<byte> eventName, ReadOnlySpan<byte> data, ILlmStreamSink sink)
    {
        if (IsTerminated || !TryParse(data, sink, out var doc))
        {
            return;
        }

        using (doc)
        {
            var root = doc.RootElement;
            var response = Json.Property(root, "response"u8);
            if (!_started && response.ValueKind == JsonValueKind.Object)
            {
                _started = true;
                sink.Start(Json.String(response, "id"u8) ?? "", Json.String(response, "model"u8) ?? "");
            }

            switch (Json.String(root, "type"u8))
            {
                case "response.output_text.delta":
                    sink.Text(Json.Raw(Json.Property(root, "delta"u8)));
                    break;
                case "response.reasoning_summary_text.delta" or "response.reasoning_text.delta":
                    sink.Reasoning(Json.Raw(Json.Property(root, "delta"u8)));
                    break;
                case "response.output_item.added" when Json.Property(root, "item"u8) is var item && Json.String(item, "type"u8) == "function_call":
                    _calls[Json.String(item, "id"u8) ?? ""] = _calls.Count;
                    sink.ToolCallStart(_calls.Count - 1, Json.String(item, "call_id"u8) ?? "", Json.String(item, "name"u8) ?? "");
                    break;
                case "response.function_call_arguments.delta" when _calls.TryGetValue(Json.String(root, "item_id"u8) ?? "", out var index):
                    sink.ToolCallArguments(index, Json.Raw(Json.Property(root, "delta"u8)));
                    break;
                case "response.output_item.done" when Json.Property(root, "item"u8) is var done && Json.Property(done, "encrypted_content"u8) is { ValueKind: JsonValueKind.String } signature:
                    sink.ReasoningSignature(Json.Raw(signature));
                    break;
                case "response.completed" or "response.incomplete":
                    sink.Usage(Json.Property(response, "usage"u8) is { ValueKind: JsonValueKind.Object } usage ? ResponsesResponseReader.ReadUsage(usage) : default);
                    sink.Finish(ResponsesResponseReader.FinishReason(response, _calls.Count > 0), null);
                    Terminate(sink, null);
                    break;
                case "response.failed":
                    Terminate(sink, Failure(Json.Property(response, "error"u8)));
                    break;
                case "error":
                    Terminate(sink, Failure(root));
                    break;
            }
        }
    }

    private static LlmError Failure(JsonElement error) =>
        new(LlmErrorKind.Server, Json.String(error, "message"u8) ?? "The provider's response failed.", 502) { Code = Json.String(error, "code"u8) };
}

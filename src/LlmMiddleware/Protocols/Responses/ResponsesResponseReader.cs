using System.Text.Json;

namespace LlmMiddleware.Protocols.Responses;

/// <summary>
/// Reads what OpenAI's Responses API answers when a Responses call is passed through to it: the response object (for
/// metering and the cache) and its usage. Items the gateway has no form for (hosted tools' calls) are kept as native parts.
/// </summary>
internal static class ResponsesResponseReader
{
    public static LlmResponse Read(ReadOnlyMemory<byte> body)
    {
        using var doc = JsonDocument.Parse(body);
        return Read(doc.RootElement);
    }

    public static LlmResponse Read(JsonElement root)
    {
        var response = new LlmResponse
        {
            Id = Json.String(root, "id"u8) ?? "",
            Model = Json.String(root, "model"u8) ?? "",
            Created = Json.Long(root, "created_at"u8),
            Usage = Json.Property(root, "usage"u8) is { ValueKind: JsonValueKind.Object } usage ? ReadUsage(usage) : default,
        };

        if (Json.Property(root, "output"u8) is { ValueKind: JsonValueKind.Array } output)
        {
            foreach (var item in output.EnumerateArray())
            {
                switch (Json.String(item, "type"u8))
                {
                    case "message" when Json.Property(item, "content"u8) is { ValueKind: JsonValueKind.Array } content:
                        foreach (var part in content.EnumerateArray())
                        {
                            response.Content.Add(new LlmTextPart(Json.String(part, "text"u8) ?? Json.String(part, "refusal"u8) ?? ""));
                        }

                        break;
                    case "function_call":
                        response.Content.Add(new LlmToolCallPart(Json.String(item, "call_id"u8) ?? "", Json.String(item, "name"u8) ?? "", Json.NormalizeObjectJson(Json.String(item, "arguments"u8))));
                        break;
                    case "reasoning":
                        var summary = Json.Property(item, "summary"u8);
                        response.Content.Add(new LlmReasoningPart(summary.ValueKind == JsonValueKind.Array ? string.Concat(summary.EnumerateArray().Select(s => Json.String(s, "text"u8))) : "")
                        {
                            Signature = Json.String(item, "encrypted_content"u8),
                        });
                        break;
                    case { } type:
                        response.Content.Add(new LlmNativePart(LlmProtocol.OpenAIResponses, type, item.GetRawText()));
                        break;
                }
            }
        }

        response.FinishReason = FinishReason(root, response.Content.Exists(p => p is LlmToolCallPart));
        return response;
    }

    public static LlmFinishReason FinishReason(JsonElement response, bool calledTools) =>
        Json.String(Json.Property(response, "incomplete_details"u8), "reason"u8) switch
        {
            "max_output_tokens" => LlmFinishReason.Length,
            "content_filter" => LlmFinishReason.ContentFilter,
            _ => calledTools ? LlmFinishReason.ToolCalls : LlmFinishReason.Stop,
        };

    public static LlmUsage ReadUsage(JsonElement usage) => new()
    {
        InputTokens = Json.Long(usage, "input_tokens"u8),
        CachedInputTokens = Json.Long(Json.Property(usage, "input_tokens_details"u8), "cached_tokens"u8),
        OutputTokens = Json.Long(usage, "output_tokens"u8),
        ReasoningTokens = Json.Long(Json.Property(usage, "output_tokens_details"u8), "reasoning_tokens"u8),
    };
}

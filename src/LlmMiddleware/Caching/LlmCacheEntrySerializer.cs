using System.Buffers;
using System.Text.Json;
using LlmMiddleware.Protocols;
using Microsoft.Extensions.Caching.Hybrid;

namespace LlmMiddleware.Caching;

/// <summary>
/// The wire form of <see cref="LlmCacheEntry"/> in a distributed cache or the semantic store: compact JSON with a
/// version, so an instance never misreads an entry written by another version (it is then a miss). Registered as the
/// entry's <see cref="IHybridCacheSerializer{T}"/>, which any <see cref="HybridCache"/> implementation picks up.
/// </summary>
internal sealed class LlmCacheEntrySerializer : IHybridCacheSerializer<LlmCacheEntry>
{
    private const int Version = 1;

    public static LlmCacheEntrySerializer Instance { get; } = new();

    public void Serialize(LlmCacheEntry value, IBufferWriter<byte> target)
    {
        using var w = new Utf8JsonWriter(target, Json.WriterOptions);
        w.WriteStartObject();
        w.WriteNumber("v"u8, Version);
        w.WriteString("provider"u8, value.Provider);
        w.WriteString("model"u8, value.Model);
        if (value.Deployment is not null)
        {
            w.WriteString("deployment"u8, value.Deployment);
        }

        if (value.Cost is { } cost)
        {
            w.WriteNumber("cost"u8, cost);
        }

        if (value.PriceVersion is not null)
        {
            w.WriteString("price_version"u8, value.PriceVersion);
        }

        w.WriteString("created_at"u8, value.CreatedAt);
        w.WriteBoolean("semantic"u8, value.Semantic);

        var response = value.Response;
        w.WriteString("id"u8, response.Id);
        w.WriteString("response_model"u8, response.Model);
        w.WriteNumber("created"u8, response.Created);
        w.WriteNumber("finish"u8, (int)response.FinishReason);
        if (response.StopSequence is not null)
        {
            w.WriteString("stop_sequence"u8, response.StopSequence);
        }

        var usage = response.Usage;
        w.WriteStartArray("usage"u8);
        w.WriteNumberValue(usage.InputTokens);
        w.WriteNumberValue(usage.CachedInputTokens);
        w.WriteNumberValue(usage.CacheWriteInputTokens);
        w.WriteNumberValue(usage.OutputTokens);
        w.WriteNumberValue(usage.ReasoningTokens);
        w.WriteEndArray();

        w.WriteStartArray("content"u8);
        foreach (var part in response.Content)
        {
            w.WriteStartObject();
            switch (part)
            {
                case LlmTextPart text:
                    w.WriteString("text"u8, text.Text);
                    break;
                case LlmReasoningPart reasoning:
                    w.WriteString("reasoning"u8, reasoning.Text);
                    if (reasoning.Signature is not null)
                    {
                        w.WriteString("signature"u8, reasoning.Signature);
                    }

                    if (reasoning.RedactedData is not null)
                    {
                        w.WriteString("redacted"u8, reasoning.RedactedData);
                    }

                    break;
                case LlmNativePart native:
                    w.WriteString("native"u8, native.Type);
                    w.WriteNumber("protocol"u8, (int)native.Protocol);
                    w.WriteString("json"u8, native.Json);
                    break;
                case LlmToolCallPart call:
                    w.WriteString("tool_id"u8, call.Id);
                    w.WriteString("tool_name"u8, call.Name);
                    w.WriteString("arguments"u8, call.ArgumentsJson);
                    break;
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    public LlmCacheEntry Deserialize(ReadOnlySequence<byte> source)
    {
        var reader = new Utf8JsonReader(source);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (Json.OptionalInt(root, "v"u8) != Version)
        {
            throw new InvalidDataException("The cache entry was written by another version of the gateway.");
        }

        var response = new LlmResponse
        {
            Id = Json.String(root, "id"u8) ?? "",
            Model = Json.String(root, "response_model"u8) ?? "",
            Created = Json.Long(root, "created"u8),
            FinishReason = (LlmFinishReason)Json.Long(root, "finish"u8),
            StopSequence = Json.String(root, "stop_sequence"u8),
        };
        var usage = root.GetProperty("usage");
        response.Usage = new LlmUsage
        {
            InputTokens = usage[0].GetInt64(),
            CachedInputTokens = usage[1].GetInt64(),
            CacheWriteInputTokens = usage[2].GetInt64(),
            OutputTokens = usage[3].GetInt64(),
            ReasoningTokens = usage[4].GetInt64(),
        };
        foreach (var part in root.GetProperty("content").EnumerateArray())
        {
            if (Json.String(part, "text"u8) is { } text)
            {
                response.Content.Add(new LlmTextPart(text));
            }
            else if (Json.String(part, "native"u8) is { } native)
            {
                response.Content.Add(new LlmNativePart((LlmProtocol)Json.Long(part, "protocol"u8), native, Json.String(part, "json"u8) ?? "{}"));
            }
            else if (Json.String(part, "reasoning"u8) is { } reasoning)
            {
                response.Content.Add(new LlmReasoningPart(reasoning) { Signature = Json.String(part, "signature"u8), RedactedData = Json.String(part, "redacted"u8) });
            }
            else
            {
                response.Content.Add(new LlmToolCallPart(Json.String(part, "tool_id"u8) ?? "", Json.String(part, "tool_name"u8) ?? "", Json.String(part, "arguments"u8) ?? "{}"));
            }
        }

        return new LlmCacheEntry
        {
            Response = response,
            Provider = Json.String(root, "provider"u8) ?? "",
            Model = Json.String(root, "model"u8) ?? "",
            Deployment = Json.String(root, "deployment"u8),
            Cost = root.TryGetProperty("cost"u8, out var cost) ? cost.GetDecimal() : null,
            PriceVersion = Json.String(root, "price_version"u8),
            CreatedAt = root.GetProperty("created_at").GetDateTimeOffset(),
            Semantic = root.GetProperty("semantic").GetBoolean(),
        };
    }

    public byte[] ToBytes(LlmCacheEntry value)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Serialize(value, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    public LlmCacheEntry FromBytes(byte[] bytes) => Deserialize(new ReadOnlySequence<byte>(bytes));
}

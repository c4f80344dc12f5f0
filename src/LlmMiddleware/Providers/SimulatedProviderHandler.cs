using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.OpenAI;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Providers;

/// <summary>
/// The built-in <c>simulated</c> provider: an in-process OpenAI-compatible endpoint that answers without any
/// network or key, so a fresh gateway works out of the box. Every reply says it is simulated. It echoes the
/// conversation, calls the first offered tool, produces deterministic embeddings, and as the model <c>judge</c> gives
/// an experiment's judge deterministic verdicts (scores of 5–9, or a pairwise winner).
/// </summary>
internal sealed class SimulatedProviderHandler(TimeProvider timeProvider) : HttpMessageHandler
{
    public const string Label = "[simulated]";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var path = request.RequestUri?.AbsolutePath ?? "";
            if (path.EndsWith("/embeddings", StringComparison.Ordinal))
            {
                return JsonResponse(HttpStatusCode.OK, Embeddings(body));
            }

            if (!path.EndsWith("/chat/completions", StringComparison.Ordinal))
            {
                return JsonResponse(HttpStatusCode.NotFound, Encoding.UTF8.GetBytes("""{"error":{"message":"Unknown simulated endpoint.","type":"invalid_request_error"}}"""));
            }

            var chat = OpenAIRequestReader.Read(body);
            var response = Reply(chat);
            using var buffer = new PooledBufferWriter();
            if (!chat.Stream)
            {
                OpenAIResponseCodec.Write(response, buffer);
                return JsonResponse(HttpStatusCode.OK, buffer.WrittenSpan.ToArray());
            }

            WriteStream(response, buffer);
            var content = new ByteArrayContent(buffer.WrittenSpan.ToArray());
            content.Headers.ContentType = new MediaTypeHeaderValue("text/event-stream");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
        }
        catch (LlmGatewayException ex)
        {
            using var buffer = new PooledBufferWriter();
            OpenAICodec.Instance.WriteError(ex.Error, buffer);
            return JsonResponse((HttpStatusCode)ex.Error.Status, buffer.WrittenSpan.ToArray());
        }
    }

    private static HttpResponseMessage JsonResponse(HttpStatusCode status, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return new HttpResponseMessage(status) { Content = content };
    }

    private LlmResponse Reply(LlmRequest request)
    {
        var response = new LlmResponse
        {
            Id = "chatcmpl-sim" + Guid.NewGuid().ToString("N")[..20],
            Model = "simulated/" + request.Model,
            Created = timeProvider.GetUtcNow().ToUnixTimeSeconds(),
        };

        // The turn to answer: trailing mid-conversation instructions (Claude Code ends its first request with them) are not it.
        var last = request.Messages.FindLast(m => m.Role != LlmRole.System) ?? request.Messages[^1];
        if (request.Model == JudgeModel)
        {
            response.Content.Add(new LlmTextPart(JudgeReply(OpenAIRequestWriter.JoinText(last.Content))));
            response.FinishReason = LlmFinishReason.Stop;
            response.Usage = new LlmUsage { InputTokens = 1, OutputTokens = 1 };
            return response;
        }

        var tool = request.ToolChoice is { Mode: LlmToolChoiceMode.None } ? null
            : request.ToolChoice is { Mode: LlmToolChoiceMode.Function, FunctionName: { } forced } ? request.Tools.Find(t => t.Name == forced)
            : request.Tools.FirstOrDefault();
        if (tool is not null && last.Role == LlmRole.User)
        {
            response.Content.Add(new LlmToolCallPart("call_sim" + Guid.NewGuid().ToString("N")[..16], tool.Name, ExampleArguments(tool.ParametersJson)));
            response.FinishReason = LlmFinishReason.ToolCalls;
        }
        else
        {
            var text = last.Role == LlmRole.Tool
                ? $"{Label} Tool results received: {string.Join("; ", last.Content.OfType<LlmToolResultPart>().Select(r => OpenAIRequestWriter.JoinText(r.Content)))}"
                : $"{Label} This answer comes from LlmMiddleware's built-in simulated provider (no model was called). You said: {Truncate(OpenAIRequestWriter.JoinText(last.Content), 200)}";
            if (request.ResponseFormat is { Kind: not LlmResponseFormatKind.Text })
            {
                text = JsonSerializer.Serialize(new Dictionary<string, string> { ["simulated"] = text });
            }

            response.Content.Add(new LlmTextPart(text));
            response.FinishReason = LlmFinishReason.Stop;
        }

        var promptBytes = request.System.Sum(p => p.Text.Length) + request.Messages.Sum(m => OpenAIRequestWriter.JoinText(m.Content).Length + 4);
        var outputBytes = response.Content.Sum(p => p is LlmTextPart t ? t.Text.Length : 24);
        response.Usage = new LlmUsage { InputTokens = Math.Max(1, promptBytes / 4), OutputTokens = Math.Max(1, outputBytes / 4) };
        return response;
    }

    private static void WriteStream(LlmResponse response, PooledBufferWriter buffer)
    {
        var sink = new OpenAIStreamWriter(buffer, includeUsage: true, response.Created);
        sink.Start(response.Id, response.Model);
        var toolIndex = 0;
        foreach (var part in response.Content)
        {
            if (part is LlmTextPart text)
            {
                foreach (var word in SplitWords(text.Text))
                {
                    sink.Text(Json.EncodeLiteral(word));
                }
            }
            else if (part is LlmToolCallPart call)
            {
                sink.ToolCallStart(toolIndex, call.Id, call.Name);
                sink.ToolCallArguments(toolIndex++, Json.EncodeLiteral(call.ArgumentsJson));
            }
        }

        sink.Finish(response.FinishReason, null);
        sink.Usage(response.Usage);
        sink.Complete();
    }

    private static IEnumerable<string> SplitWords(string text)
    {
        var start = 0;
        for (var i = 1; i < text.Length; i++)
        {
            if (text[i] == ' ')
            {
                yield return text[start..i];
                start = i;
            }
        }

        yield return text[start..];
    }

    /// <summary>Fills the schema's required properties with placeholder values of the right type.</summary>
    private static string ExampleArguments(string schemaJson)
    {
        using var schema = JsonDocument.Parse(schemaJson);
        var properties = Json.Property(schema.RootElement, "properties"u8);
        var required = Json.Property(schema.RootElement, "required"u8);
        var values = new Dictionary<string, object>();
        if (required.ValueKind == JsonValueKind.Array)
        {
            foreach (var name in required.EnumerateArray().Where(r => r.ValueKind == JsonValueKind.String).Select(r => r.GetString()!))
            {
                values[name] = Json.String((properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out var property) ? property : default), "type"u8) switch
                {
                    "number" or "integer" => 1,
                    "boolean" => true,
                    "array" => Array.Empty<object>(),
                    "object" => new Dictionary<string, object>(),
                    _ => "example",
                };
            }
        }

        return JsonSerializer.Serialize(values);
    }

    /// <summary>The model that answers as an experiment's judge would: a verdict drawn from the text judged, the same each time.</summary>
    public const string JudgeModel = "judge";

    private static string JudgeReply(string judged)
    {
        var drawn = System.IO.Hashing.XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(judged));
        return judged.Contains("\nAnswer A:\n", StringComparison.Ordinal)
            ? $$"""{"winner": "{{(drawn % 3) switch { 0 => "A", 1 => "B", _ => "tie" }}}", "rationale": "{{Label}} A simulated verdict: no model compared the answers."}"""
            : $$"""{"score": {{5 + (drawn % 5)}}, "rationale": "{{Label}} A simulated verdict: no model judged the answer."}""";
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + "…";

    /// <summary>Deterministic bag-of-trigrams vectors: near-duplicate texts get similar vectors.</summary>
    private static byte[] Embeddings(byte[] body)
    {
        using var doc = Json.Parse(body, "request body");
        var root = doc.RootElement;
        var dimensions = Json.OptionalInt(root, "dimensions"u8) ?? 256;
        var base64 = Json.String(root, "encoding_format"u8) == "base64";
        var input = Json.Property(root, "input"u8);
        var texts = input.ValueKind == JsonValueKind.Array ? input.EnumerateArray().Select(e => e.ToString()).ToList() : [input.ToString()];
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteString("object", "list");
            writer.WriteStartArray("data");
            for (var i = 0; i < texts.Count; i++)
            {
                var vector = Embed(texts[i], dimensions);
                writer.WriteStartObject();
                writer.WriteString("object", "embedding");
                writer.WriteNumber("index", i);
                if (base64)
                {
                    var bytes = new byte[vector.Length * 4];
                    for (var j = 0; j < vector.Length; j++)
                    {
                        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(j * 4), vector[j]);
                    }

                    writer.WriteString("embedding", Convert.ToBase64String(bytes));
                }
                else
                {
                    writer.WriteStartArray("embedding");
                    foreach (var value in vector)
                    {
                        writer.WriteNumberValue(value);
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteString("model", "simulated/" + Json.String(root, "model"u8));
            var tokens = texts.Sum(t => Math.Max(1, t.Length / 4));
            writer.WriteStartObject("usage");
            writer.WriteNumber("prompt_tokens", tokens);
            writer.WriteNumber("total_tokens", tokens);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return stream.ToArray();
    }

    internal static float[] Embed(string text, int dimensions)
    {
        var vector = new float[Math.Clamp(dimensions, 1, 4096)];
        var lower = text.ToLowerInvariant();
        for (var i = 0; i + 3 <= lower.Length; i++)
        {
            // FNV-1a: stable across processes, unlike string.GetHashCode.
            var hash = 2166136261u;
            for (var j = i; j < i + 3; j++)
            {
                hash = (hash ^ lower[j]) * 16777619u;
            }

            vector[hash % vector.Length] += 1;
        }

        var norm = MathF.Sqrt(vector.Sum(v => v * v));
        if (norm > 0)
        {
            for (var i = 0; i < vector.Length; i++)
            {
                vector[i] /= norm;
            }
        }

        return vector;
    }
}

using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>The Gemini generateContent / streamGenerateContent wire format.</summary>
public sealed partial class FakeUpstream
{
    // ---- Gemini ---------------------------------------------------------------------------------

    /// <summary>The Gemini API, or (<paramref name="vertex"/>) Gemini on Vertex AI, which takes a Google OAuth token.</summary>
    private async Task HandleGeminiAsync(HttpContext http, bool vertex = false)
    {
        var body = await ReadJsonAsync(http);
        Record(new FakeCall(vertex ? "vertex" : "gemini", http.Request.Path, http.Request.QueryString.Value ?? "", new HeaderDictionary(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)), body ?? new JsonObject()));
        static string Error(int code, string message, string status) =>
            new JsonObject { ["error"] = new JsonObject { ["code"] = code, ["message"] = message, ["status"] = status } }.ToJsonString();

        if (vertex ? !IsGoogleToken(http) || http.Request.Headers.ContainsKey("x-goog-api-key") : http.Request.Headers["x-goog-api-key"] != GeminiKey)
        {
            await WriteJsonAsync(http, 400, Error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT"));
            return;
        }

        var path = http.Request.Path.Value!;
        var colon = path.LastIndexOf(':');
        var model = path[(path.IndexOf("/models/", StringComparison.Ordinal) + 8)..colon];
        var method = path[(colon + 1)..];
        if (method == "batchEmbedContents" && body is JsonObject embed)
        {
            var requests = embed["requests"]!.AsArray();
            if (requests.Any(r => r!["model"]!.GetValue<string>() != "models/" + model || r["content"]!["parts"]![0]!["text"] is null))
            {
                await WriteJsonAsync(http, 400, Error(400, "* BatchEmbedContentsRequest.requests: model and content are required.", "INVALID_ARGUMENT"));
                return;
            }

            var embeddings = new JsonArray(requests.Select((r, i) => (JsonNode)new JsonObject { ["values"] = new JsonArray(0.25, -1.5, i) }).ToArray());
            await WriteJsonAsync(http, 200, new JsonObject { ["embeddings"] = embeddings }.ToJsonString());
            return;
        }

        var stream = method == "streamGenerateContent";
        if (method is not ("generateContent" or "streamGenerateContent") || stream && http.Request.Query["alt"] != "sse" || body is not JsonObject request)
        {
            await WriteJsonAsync(http, 400, Error(400, "Invalid request.", "INVALID_ARGUMENT"));
            return;
        }

        var contents = request["contents"]!.AsArray();
        foreach (var content in contents)
        {
            var parts = content!["parts"]?.AsArray();
            if (parts is null || parts.Count == 0 || parts.Any(p => p!["text"] is JsonValue t && t.GetValue<string>().Length == 0))
            {
                await WriteJsonAsync(http, 400, Error(400, "* GenerateContentRequest.contents: contents.parts must not be empty.", "INVALID_ARGUMENT"));
                return;
            }

            foreach (var part in parts)
            {
                // Gemini 3: each call carries the signature it was issued with, or the documented placeholder for
                // calls from another model's history.
                if (part!["functionCall"] is not null && (part["thoughtSignature"]?.GetValue<string>() is not { } signature
                    || !(_issuedSignatures.ContainsKey(signature) || signature == "skip_thought_signature_validator")))
                {
                    await WriteJsonAsync(http, 400, Error(400, "Function call is missing a thought_signature in functionCall parts.", "INVALID_ARGUMENT"));
                    return;
                }
            }
        }

        var parameters = request["tools"]?[0]?["functionDeclarations"]?.AsArray().Select(f => f!["parameters"]).Where(p => p is not null);
        if (parameters?.Any(p => p!.ToJsonString().Contains("additionalProperties") || p.ToJsonString().Contains("\"$schema\"")) == true)
        {
            await WriteJsonAsync(http, 400, Error(400, "Invalid JSON payload received. Unknown name \"additionalProperties\".", "INVALID_ARGUMENT"));
            return;
        }

        TryTakeFault("gemini", out var fault);
        if (await ApplyFaultAsync(http, fault))
        {
            return;
        }

        var lastParts = contents[^1]!["parts"]!.AsArray();
        var results = lastParts.Where(p => p!["functionResponse"] is not null).Select(p => p!["functionResponse"]!["response"]!["result"]?.GetValue<string>() ?? "").ToList();
        var userText = string.Concat(lastParts.Where(p => p!["text"] is not null).Select(p => p!["text"]!.GetValue<string>()));
        var tools = request["tools"]?[0]?["functionDeclarations"]?.AsArray().Select(f => f!["name"]!.GetValue<string>()).ToList() ?? [];
        var plan = MakePlan("gemini", userText, results.Count > 0 ? results : null, tools, fault);
        var callParts = plan.ToolCalls.Select(c =>
        {
            var signature = "c2ln" + Guid.NewGuid().ToString("N")[..8] + "==";
            _issuedSignatures[signature] = true;
            return (JsonNode)new JsonObject { ["functionCall"] = new JsonObject { ["name"] = c.Name, ["args"] = JsonNode.Parse(c.Args) }, ["thoughtSignature"] = signature };
        }).ToArray();
        var usage = new JsonObject { ["promptTokenCount"] = 10, ["candidatesTokenCount"] = 5, ["thoughtsTokenCount"] = 2, ["totalTokenCount"] = 17 };
        JsonObject Response(JsonArray parts, string? finish, JsonObject? usageMetadata) => new()
        {
            ["candidates"] = new JsonArray(new JsonObject { ["content"] = new JsonObject { ["role"] = "model", ["parts"] = parts }, ["finishReason"] = finish, ["index"] = 0 }),
            ["usageMetadata"] = usageMetadata ?? new JsonObject { ["trafficType"] = "ON_DEMAND" },
            ["modelVersion"] = model,
            ["responseId"] = "resp-fake1",
        };

        if (!stream)
        {
            var parts = new JsonArray();
            if (plan.Text is { } text)
            {
                parts.Add(new JsonObject { ["text"] = text });
            }

            foreach (var part in callParts)
            {
                parts.Add(part);
            }

            await WriteJsonAsync(http, 200, Response(parts, "STOP", usage).ToJsonString());
            return;
        }

        var events = new List<string>();
        if (plan.Text is { } reply)
        {
            var half = reply.Length / 2;
            events.Add("data: " + Response(new JsonArray(new JsonObject { ["text"] = reply[..half] }), null, null).ToJsonString() + "\r\n\r\n");
            events.Add("data: " + Response(new JsonArray(new JsonObject { ["text"] = reply[half..] }), null, null).ToJsonString() + "\r\n\r\n");
        }

        if (callParts.Length > 0)
        {
            events.Add("data: " + Response(new JsonArray(callParts), null, null).ToJsonString() + "\r\n\r\n");
        }

        // Newer models send STOP in a chunk of its own, after the function calls.
        events.Add("data: " + Response(new JsonArray(new JsonObject { ["text"] = "" }), "STOP", usage).ToJsonString() + "\r\n\r\n");
        await StreamAsync(http, events, fault);
    }
}

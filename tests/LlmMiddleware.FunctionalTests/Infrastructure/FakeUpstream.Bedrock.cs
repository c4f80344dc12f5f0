using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// Amazon Bedrock: every request must carry a valid SigV4 signature (checked here independently of the AWS SDK, for
/// service <c>bedrock</c>, with the test credentials); Converse and ConverseStream, and Claude through InvokeModel
/// (its version in the body, never the model), strict about their fields; streams in AWS's binary event-stream framing.
/// </summary>
public sealed partial class FakeUpstream
{
    public const string AwsAccessKeyId = "AKIDFAKEGATEWAY01";
    public const string AwsSecretAccessKey = "fake/secret+key/for/the/gateway/tests00";
    public const string AwsRegion = "us-east-1";

    private static readonly HashSet<string> ConverseFields = ["messages", "system", "inferenceConfig", "toolConfig", "additionalModelRequestFields", "guardrailConfig", "additionalModelResponseFieldPaths", "requestMetadata", "performanceConfig", "promptVariables"];

    private async Task HandleBedrockAsync(HttpContext http, string modelId, string operation)
    {
        http.Request.EnableBuffering();
        using var copy = new MemoryStream();
        await http.Request.Body.CopyToAsync(copy);
        http.Request.Body.Position = 0;
        var body = await ReadJsonAsync(http);
        var provider = operation.StartsWith("invoke", StringComparison.Ordinal) ? "bedrock-anthropic" : "bedrock";
        Record(new FakeCall(provider, http.Request.Path, "", new HeaderDictionary(http.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)), body ?? new JsonObject()));
        static string Error(string message) => new JsonObject { ["message"] = message }.ToJsonString();

        if (VerifySigV4(http, copy.ToArray()) is { } refused)
        {
            await WriteJsonAsync(http, 403, Error(refused));
            return;
        }

        if (body is not JsonObject request)
        {
            await WriteJsonAsync(http, 400, Error("Malformed input request, please reformat your input and try again."));
            return;
        }

        var stream = operation is "converse-stream" or "invoke-with-response-stream";
        if (provider == "bedrock")
        {
            if (request.Select(p => p.Key).FirstOrDefault(k => !ConverseFields.Contains(k)) is { } extra)
            {
                await WriteJsonAsync(http, 400, Error($"1 validation error detected: extraneous key [{extra}] is not permitted"));
                return;
            }

            await ConverseAsync(http, request, modelId, stream);
            return;
        }

        if (request["model"] is not null || request["anthropic_version"]?.GetValue<string>() != "bedrock-2023-05-31")
        {
            await WriteJsonAsync(http, 400, Error("Malformed input request: anthropic_version must be bedrock-2023-05-31, and the model is named in the URL only"));
            return;
        }

        var last = request["messages"]!.AsArray()[^1]!["content"];
        var userText = last is JsonValue v ? v.GetValue<string>() : string.Concat(last!.AsArray().Select(b => b!["text"]?.GetValue<string>()));
        var plan = MakePlan("anthropic", userText, null, [], null);
        if (!stream)
        {
            await WriteJsonAsync(http, 200, new JsonObject
            {
                ["id"] = "msg_bdrk_1", ["type"] = "message", ["role"] = "assistant", ["model"] = modelId, ["stop_reason"] = "end_turn", ["stop_sequence"] = null,
                ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = plan.Text }),
                ["usage"] = new JsonObject { ["input_tokens"] = 12, ["output_tokens"] = 6 },
            }.ToJsonString());
            return;
        }

        var half = plan.Text!.Length / 2;
        JsonObject[] events =
        [
            new() { ["type"] = "message_start", ["message"] = new JsonObject { ["id"] = "msg_bdrk_1", ["type"] = "message", ["role"] = "assistant", ["model"] = modelId, ["content"] = new JsonArray(), ["usage"] = new JsonObject { ["input_tokens"] = 12, ["output_tokens"] = 1 } } },
            new() { ["type"] = "content_block_start", ["index"] = 0, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } },
            new() { ["type"] = "content_block_delta", ["index"] = 0, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = plan.Text[..half] } },
            new() { ["type"] = "content_block_delta", ["index"] = 0, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = plan.Text[half..] } },
            new() { ["type"] = "content_block_stop", ["index"] = 0 },
            new() { ["type"] = "message_delta", ["delta"] = new JsonObject { ["stop_reason"] = "end_turn", ["stop_sequence"] = null }, ["usage"] = new JsonObject { ["output_tokens"] = 6 } },
            new() { ["type"] = "message_stop", ["amazon-bedrock-invocationMetrics"] = new JsonObject { ["inputTokenCount"] = 12, ["outputTokenCount"] = 6 } },
        ];
        await WriteFramesAsync(http, events.Select(e => ("chunk", (JsonNode)new JsonObject { ["bytes"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(e.ToJsonString())) })));
    }

    private async Task ConverseAsync(HttpContext http, JsonObject request, string modelId, bool stream)
    {
        var messages = request["messages"]!.AsArray();
        var roles = messages.Select(m => m!["role"]!.GetValue<string>()).ToList();
        if (roles.Count == 0 || roles[0] != "user" || roles.Zip(roles.Skip(1)).Any(p => p.First == p.Second)
            || messages.Any(m => m!["content"] is not JsonArray { Count: > 0 } blocks || blocks.Any(b => b!["text"] is JsonValue t && t.GetValue<string>().Length == 0)))
        {
            await WriteJsonAsync(http, 400, new JsonObject { ["message"] = "A conversation must alternate between user and assistant roles, start with a user message, and hold no empty content." }.ToJsonString());
            return;
        }

        var lastBlocks = messages[^1]!["content"]!.AsArray();
        var results = lastBlocks.Where(b => b!["toolResult"] is not null).Select(b => b!["toolResult"]!["content"]![0]!["text"]!.GetValue<string>()).ToList();
        var userText = string.Concat(lastBlocks.Select(b => b!["text"]?.GetValue<string>()));
        var tools = request["toolConfig"]?["tools"]?.AsArray().Select(t => t!["toolSpec"]!["name"]!.GetValue<string>()).ToList() ?? [];
        var plan = MakePlan("bedrock", userText, results.Count > 0 ? results : null, tools, null);
        var stop = plan.ToolCalls.Count > 0 ? "tool_use" : "end_turn";
        var usage = new JsonObject { ["inputTokens"] = 14, ["outputTokens"] = 8, ["totalTokens"] = 22 };
        if (!stream)
        {
            var content = new JsonArray();
            if (plan.Text is { } text)
            {
                content.Add(new JsonObject { ["text"] = text });
            }

            foreach (var (id, name, args) in plan.ToolCalls)
            {
                content.Add(new JsonObject { ["toolUse"] = new JsonObject { ["toolUseId"] = "tooluse_" + id, ["name"] = name, ["input"] = JsonNode.Parse(args) } });
            }

            await WriteJsonAsync(http, 200, new JsonObject { ["output"] = new JsonObject { ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content } }, ["stopReason"] = stop, ["usage"] = usage, ["metrics"] = new JsonObject { ["latencyMs"] = 120 } }.ToJsonString());
            return;
        }

        var frames = new List<(string, JsonNode)> { ("messageStart", new JsonObject { ["role"] = "assistant" }) };
        var index = 0;
        if (plan.Text is { } reply)
        {
            frames.Add(("contentBlockDelta", new JsonObject { ["delta"] = new JsonObject { ["text"] = reply[..(reply.Length / 2)] }, ["contentBlockIndex"] = index }));
            frames.Add(("contentBlockDelta", new JsonObject { ["delta"] = new JsonObject { ["text"] = reply[(reply.Length / 2)..] }, ["contentBlockIndex"] = index }));
            frames.Add(("contentBlockStop", new JsonObject { ["contentBlockIndex"] = index++ }));
        }

        foreach (var (id, name, args) in plan.ToolCalls)
        {
            frames.Add(("contentBlockStart", new JsonObject { ["start"] = new JsonObject { ["toolUse"] = new JsonObject { ["toolUseId"] = "tooluse_" + id, ["name"] = name } }, ["contentBlockIndex"] = index }));
            frames.Add(("contentBlockDelta", new JsonObject { ["delta"] = new JsonObject { ["toolUse"] = new JsonObject { ["input"] = args } }, ["contentBlockIndex"] = index }));
            frames.Add(("contentBlockStop", new JsonObject { ["contentBlockIndex"] = index++ }));
        }

        frames.Add(("messageStop", new JsonObject { ["stopReason"] = stop }));
        frames.Add(("metadata", new JsonObject { ["usage"] = usage, ["metrics"] = new JsonObject { ["latencyMs"] = 120 } }));
        await WriteFramesAsync(http, frames);
    }

    /// <summary>AWS event-stream frames: prelude (lengths and their CRC32), string headers, the JSON payload, a CRC32.</summary>
    private static async Task WriteFramesAsync(HttpContext http, IEnumerable<(string EventType, JsonNode Payload)> frames)
    {
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/vnd.amazon.eventstream";
        foreach (var (eventType, payload) in frames)
        {
            var headers = new MemoryStream();
            foreach (var (name, value) in new[] { (":event-type", eventType), (":content-type", "application/json"), (":message-type", "event") })
            {
                headers.WriteByte((byte)name.Length);
                headers.Write(Encoding.ASCII.GetBytes(name));
                headers.WriteByte(7);
                var bytes = Encoding.UTF8.GetBytes(value);
                headers.Write([(byte)(bytes.Length >> 8), (byte)bytes.Length]);
                headers.Write(bytes);
            }

            var data = Encoding.UTF8.GetBytes(payload.ToJsonString());
            var total = 12 + (int)headers.Length + data.Length + 4;
            var frame = new byte[total];
            BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)total);
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(4), (uint)headers.Length);
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(8), System.IO.Hashing.Crc32.HashToUInt32(frame.AsSpan(0, 8)));
            headers.ToArray().CopyTo(frame, 12);
            data.CopyTo(frame, 12 + (int)headers.Length);
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(total - 4), System.IO.Hashing.Crc32.HashToUInt32(frame.AsSpan(0, total - 4)));
            await http.Response.Body.WriteAsync(frame);
            await http.Response.Body.FlushAsync();
        }
    }

    /// <summary>SigV4 as AWS checks it, written from the specification: the canonical request (path segments encoded
    /// twice, as for every service but S3), the string to sign, the derived key; null when the signature holds.</summary>
    private static string? VerifySigV4(HttpContext http, byte[] body)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        var date = http.Request.Headers["x-amz-date"].ToString();
        if (!authorization.StartsWith("AWS4-HMAC-SHA256 ", StringComparison.Ordinal) || date.Length != 16)
        {
            return "Missing Authentication Token";
        }

        var fields = authorization["AWS4-HMAC-SHA256 ".Length..].Split(", ").Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1]);
        var scope = fields["Credential"].Split('/');
        if (scope is not [AwsAccessKeyId, var day, AwsRegion, "bedrock", "aws4_request"] || !date.StartsWith(day, StringComparison.Ordinal))
        {
            return "The security token included in the request is invalid.";
        }

        var signedAt = DateTimeOffset.ParseExact(date, "yyyyMMdd'T'HHmmss'Z'", null, System.Globalization.DateTimeStyles.AssumeUniversal);
        if ((DateTimeOffset.UtcNow - signedAt).Duration() > TimeSpan.FromMinutes(5))
        {
            return "Signature expired";
        }

        var rawPath = http.Features.Get<IHttpRequestFeature>()!.RawTarget.Split('?')[0];
        var canonicalUri = string.Join('/', rawPath.Split('/').Select(Uri.EscapeDataString));
        var signedHeaders = fields["SignedHeaders"];
        var canonicalHeaders = string.Concat(signedHeaders.Split(';').Select(h => $"{h}:{(h == "host" ? http.Request.Host.Value : http.Request.Headers[h].ToString().Trim())}\n"));
        var payloadHash = Convert.ToHexStringLower(SHA256.HashData(body));
        var canonicalRequest = $"{http.Request.Method}\n{canonicalUri}\n\n{canonicalHeaders}\n{signedHeaders}\n{payloadHash}";
        var stringToSign = $"AWS4-HMAC-SHA256\n{date}\n{day}/{AwsRegion}/bedrock/aws4_request\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";
        var key = new[] { day, AwsRegion, "bedrock", "aws4_request" }.Aggregate(Encoding.UTF8.GetBytes("AWS4" + AwsSecretAccessKey), (k, part) => HMACSHA256.HashData(k, Encoding.UTF8.GetBytes(part)));
        return Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign))) == fields["Signature"]
            ? null
            : "The request signature we calculated does not match the signature you provided.";
    }
}

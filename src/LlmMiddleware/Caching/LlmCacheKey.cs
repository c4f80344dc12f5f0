using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LlmMiddleware.Protocols;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Caching;

/// <summary>
/// The canonical cache key of a chat request: a SHA-256 over every field that can change the output, taken from the
/// parsed request, so JSON key order and whitespace in the caller's body never matter. Embedded JSON (tool schemas,
/// tool-call arguments, response schemas, provider-native parts) is canonicalized too: object keys sorted, strings
/// compared by value, insignificant whitespace dropped. Streaming does not change the output and is not in the key.
/// </summary>
internal static class LlmCacheKey
{
    /// <summary>Bumped whenever the canonical form changes, so old entries are never read with a new meaning.</summary>
    private const string Version = "llm-cache-v2";

    /// <summary>
    /// The key of <paramref name="request"/> as sent to <paramref name="resolvedModel"/>, scoped to
    /// <paramref name="scope"/> (the tenant: caller key or team; <see langword="null"/> when the host shares entries), with
    /// <paramref name="unmodeled"/>: what else the caller sends that can change the answer (<see cref="Unmodeled"/>).
    /// </summary>
    public static string Compute(LlmRequest request, string requestedModel, string resolvedModel, string? scope, string? unmodeled = null)
    {
        using var buffer = new PooledBufferWriter(4096);
        var w = new Writer(buffer);
        WriteHeader(ref w, Version, requestedModel, resolvedModel, scope);
        w.String(unmodeled);
        w.Count(request.Messages.Count);
        foreach (var message in request.Messages)
        {
            w.Int((int)message.Role);
            w.String(message.Name);
            w.Count(message.Content.Count);
            foreach (var part in message.Content)
            {
                WritePart(ref w, part);
            }
        }

        WriteParameters(ref w, request);
        return Hash(Version, buffer);
    }

    /// <summary>
    /// The semantic cache partition of <paramref name="request"/>: everything in its exact key but the conversation
    /// (tenant, models, system prompt, tools, output format, sampling), plus the embedder, so only requests that differ in
    /// their messages alone are ever compared, and vectors of different embedders never meet.
    /// </summary>
    public static string ComputePartition(LlmRequest request, string requestedModel, string resolvedModel, string? scope, string embedder, string? unmodeled = null)
    {
        using var buffer = new PooledBufferWriter(1024);
        var w = new Writer(buffer);
        WriteHeader(ref w, PartitionVersion, requestedModel, resolvedModel, scope);
        w.String(unmodeled);
        w.String(embedder);
        WriteParameters(ref w, request);
        return Hash(PartitionVersion, buffer);
    }

    private const string PartitionVersion = "llm-semantic-v2";

    /// <summary>
    /// What a caller sends beyond its parsed request that can change the answer: the body's top-level fields the
    /// parsed form does not model (<c>logit_bias</c>, <c>logprobs</c>, <c>prediction</c>, <c>service_tier</c>, any field a
    /// provider adds), which reach the provider in passthrough, canonicalized; and an Anthropic caller's
    /// <c>anthropic-beta</c> flags, forwarded to Anthropic. <see langword="null"/> when there is none, so such requests
    /// key as their parsed form alone and an OpenAI and an Anthropic caller asking the same share entries.
    /// </summary>
    public static string? Unmodeled(LlmRequest request, LlmCodec codec, IHeaderDictionary headers)
    {
        var fields = request.UnmodeledFields;
        var beta = codec.AnswerChangingHeaders(headers);
        if (fields is null && beta.Length == 0)
        {
            return null;
        }

        using var buffer = new PooledBufferWriter(256);
        var w = new Writer(buffer);
        w.String(beta);
        w.Count(fields?.Count ?? 0);
        foreach (var (name, json) in (fields ?? []).OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            w.String(name);
            w.Json(json);
        }

        return Hash("unmodeled", buffer);
    }

    private static void WriteHeader(ref Writer w, string version, string requestedModel, string resolvedModel, string? scope)
    {
        w.String(version);
        w.String(scope);
        w.String(requestedModel);
        w.String(resolvedModel);
    }

    private static string Hash(string version, PooledBufferWriter buffer)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(buffer.WrittenSpan, hash);
        return string.Concat(version, ":", Convert.ToHexStringLower(hash));
    }

    /// <summary>Everything but the conversation: system prompt, tools, output format, sampling and limits.</summary>
    private static void WriteParameters(ref Writer w, LlmRequest request)
    {
        w.Count(request.System.Count);
        foreach (var part in request.System)
        {
            w.String(part.Text);
        }

        w.Count(request.Tools.Count);
        foreach (var tool in request.Tools)
        {
            w.String(tool.Name);
            w.String(tool.Description);
            w.Json(tool.ParametersJson);
            w.Bool(tool.Strict);
            w.Int((int?)tool.NativeProtocol);
            w.Json(tool.NativeJson);
        }

        w.Int((int?)request.ToolChoice?.Mode);
        w.String(request.ToolChoice?.FunctionName);
        w.Bool(request.ParallelToolCalls);
        w.Int((int?)request.ResponseFormat?.Kind);
        w.String(request.ResponseFormat?.Name);
        w.Json(request.ResponseFormat?.SchemaJson);
        w.Bool(request.ResponseFormat?.Strict);
        w.Double(request.Temperature);
        w.Double(request.TopP);
        w.Int(request.TopK);
        w.Count(request.StopSequences.Count);
        foreach (var stop in request.StopSequences)
        {
            w.String(stop);
        }

        w.Int(request.MaxOutputTokens);
        w.String(request.Reasoning?.Effort);
        w.Int(request.Reasoning?.BudgetTokens);
        w.Bool(request.Reasoning?.Disabled);
        w.Int(request.N);
        w.Long(request.Seed);
        w.Double(request.PresencePenalty);
        w.Double(request.FrequencyPenalty);
    }

    private static void WritePart(ref Writer w, LlmContentPart part)
    {
        switch (part)
        {
            case LlmTextPart text:
                w.Tag(1);
                w.String(text.Text);
                break;
            case LlmImagePart image:
                w.Tag(2);
                w.String(image.MediaType);
                w.String(image.Data);
                w.Blob(image.Bytes.Span);
                w.String(image.Url);
                w.String(image.Detail);
                break;
            case LlmToolCallPart call:
                w.Tag(3);
                w.String(call.Id);
                w.String(call.Name);
                w.Json(call.ArgumentsJson);
                break;
            case LlmToolResultPart result:
                w.Tag(4);
                w.String(result.ToolCallId);
                w.Bool(result.IsError);
                w.Count(result.Content.Count);
                foreach (var inner in result.Content)
                {
                    WritePart(ref w, inner);
                }

                break;
            case LlmReasoningPart reasoning:
                w.Tag(5);
                w.String(reasoning.Text);
                w.String(reasoning.Signature);
                w.String(reasoning.RedactedData);
                break;
            case LlmNativePart native:
                w.Tag(6);
                w.Int((int)native.Protocol);
                w.String(native.Type);
                w.Json(native.Json);
                break;
            default:
                w.Tag(0);
                w.String(part.GetType().FullName);
                break;
        }
    }

    /// <summary>Length-prefixed, typed fields, so no two different requests can write the same bytes.</summary>
    private readonly ref struct Writer(PooledBufferWriter output)
    {
        public void Tag(byte tag) => Bytes([tag]);

        public void Count(int count) => Int(count);

        public void Blob(ReadOnlySpan<byte> bytes)
        {
            Int(bytes.Length);
            Bytes(bytes);
        }

        public void String(string? value)
        {
            if (value is null)
            {
                Tag(0);
                return;
            }

            Tag(1);
            var length = Encoding.UTF8.GetByteCount(value);
            Int(length);
            var span = output.GetSpan(length);
            Encoding.UTF8.GetBytes(value, span);
            output.Advance(length);
        }

        public void Int(int? value) => Long(value);

        public void Long(long? value)
        {
            Span<byte> bytes = stackalloc byte[9];
            bytes[0] = value is null ? (byte)0 : (byte)1;
            BinaryPrimitives.WriteInt64LittleEndian(bytes[1..], value ?? 0);
            Bytes(bytes);
        }

        public void Double(double? value) => Long(value is null ? null : BitConverter.DoubleToInt64Bits(value.Value));

        public void Bool(bool? value) => Tag(value switch { null => 0, false => 1, true => 2 });

        /// <summary>Canonical JSON: sorted keys, values by meaning; text that is not JSON is written as a string.</summary>
        public void Json(string? json)
        {
            if (json is null)
            {
                Tag(0);
                return;
            }

            try
            {
                using var document = JsonDocument.Parse(json);
                Tag(2);
                Element(document.RootElement);
            }
            catch (JsonException)
            {
                String(json);
            }
        }

        private void Element(JsonElement element)
        {
            Tag((byte)(10 + (int)element.ValueKind));
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    var properties = new List<JsonProperty>();
                    foreach (var property in element.EnumerateObject())
                    {
                        properties.Add(property);
                    }

                    properties.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
                    Count(properties.Count);
                    foreach (var property in properties)
                    {
                        String(property.Name);
                        Element(property.Value);
                    }

                    break;
                case JsonValueKind.Array:
                    Count(element.GetArrayLength());
                    foreach (var item in element.EnumerateArray())
                    {
                        Element(item);
                    }

                    break;
                case JsonValueKind.String:
                    string? value;
                    try
                    {
                        value = element.GetString();
                    }
                    catch (InvalidOperationException)
                    {
                        // An escaped lone surrogate ("\ud800") has no string value: keyed by its raw text instead.
                        Tag(3);
                        Raw(JsonMarshal.GetRawUtf8Value(element));
                        break;
                    }

                    String(value);
                    break;
                case JsonValueKind.Number:
                    // 1, 1.0 and 1e0 are the same number to a model's tool schema.
                    Double(element.TryGetDouble(out var number) ? number : double.NaN);
                    break;
            }
        }

        private void Raw(ReadOnlySpan<byte> bytes)
        {
            Int(bytes.Length);
            Bytes(bytes);
        }

        private void Bytes(ReadOnlySpan<byte> bytes) => output.Write(bytes);
    }
}

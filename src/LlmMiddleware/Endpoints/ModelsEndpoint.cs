using System.Text.Json;
using LlmMiddleware.Governance;
using LlmMiddleware.Protocols;
using LlmMiddleware.Providers;
using LlmMiddleware.Routing;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Endpoints;

/// <summary><c>GET /v1/models</c>: the configured aliases and groups (with virtual keys: those the caller's key may
/// use), in OpenAI's list shape, or Anthropic's when the caller sends <c>anthropic-version</c> (as the Anthropic SDKs do).</summary>
internal static class ModelsEndpoint
{
    public static async Task HandleAsync(HttpContext http, LlmProviderRegistry registry, LlmRouter router, VirtualKeyIndex? keys)
    {
        var anthropic = http.Request.Headers.ContainsKey("anthropic-version");
        VirtualKeyEntry? key = null;
        try
        {
            key = keys?.Authenticate(http);
        }
        catch (LlmGatewayException refused)
        {
            await LlmCodec.For(anthropic ? LlmProtocol.AnthropicMessages : LlmProtocol.OpenAIChat).WriteErrorAsync(http.Response, refused.Error, http.RequestAborted).ConfigureAwait(false);
            return;
        }

        // With virtual keys, a caller sees the models its key may use.
        var models = registry.Models.Select(m => (Id: m.Key, Owner: m.Value.Provider))
            .Concat(router.Groups.Select(g => (Id: g, Owner: "group")))
            .Where(m => key?.Allows(m.Id) ?? true)
            .OrderBy(m => m.Id, StringComparer.Ordinal)
            .ToList();
        using var buffer = new PooledBufferWriter();
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            writer.WriteStartObject();
            if (!anthropic)
            {
                writer.WriteString("object"u8, "list"u8);
            }

            writer.WriteStartArray("data"u8);
            foreach (var (alias, owner) in models)
            {
                writer.WriteStartObject();
                writer.WriteString("id"u8, alias);
                if (anthropic)
                {
                    writer.WriteString("type"u8, "model"u8);
                    writer.WriteString("display_name"u8, alias);
                    writer.WriteString("created_at"u8, "1970-01-01T00:00:00Z"u8);
                }
                else
                {
                    writer.WriteString("object"u8, "model"u8);
                    writer.WriteNumber("created"u8, 0);
                    writer.WriteString("owned_by"u8, owner);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            if (anthropic)
            {
                writer.WriteBoolean("has_more"u8, false);
                if (models.Count > 0)
                {
                    writer.WriteString("first_id"u8, models[0].Id);
                    writer.WriteString("last_id"u8, models[^1].Id);
                }
                else
                {
                    writer.WriteNull("first_id"u8);
                    writer.WriteNull("last_id"u8);
                }
            }

            writer.WriteEndObject();
        }

        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted).ConfigureAwait(false);
    }
}

using System.Text.Json;
using LlmMiddleware.Protocols;
using LlmMiddleware.Routing;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Endpoints;

/// <summary>A read-only JSON view of model groups and the state of their deployments.</summary>
internal static class DeploymentHealthEndpoint
{
    public static async Task HandleAsync(HttpContext http, LlmRouter router, TimeProvider timeProvider)
    {
        var now = timeProvider.GetUtcNow();
        using var buffer = new PooledBufferWriter();
        using (var writer = new Utf8JsonWriter(buffer, Json.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("deployments"u8);
            foreach (var deployment in router.Deployments)
            {
                writer.WriteStartObject();
                writer.WriteString("group"u8, deployment.Group);
                writer.WriteString("name"u8, deployment.Name);
                writer.WriteString("provider"u8, deployment.Provider);
                writer.WriteString("model"u8, deployment.Model);
                writer.WriteString("state"u8, deployment.IsCoolingDown(now) ? "cooling_down" : "available");
                if (deployment.CoolingUntil is { } until && until > now)
                {
                    writer.WriteString("cooling_until"u8, until);
                }

                writer.WriteNumber("in_flight"u8, deployment.InFlight);
                WriteMilliseconds(writer, "avg_time_to_first_token_ms"u8, deployment.AverageTimeToFirstToken);
                WriteMilliseconds(writer, "avg_duration_ms"u8, deployment.AverageDuration);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        http.Response.ContentType = "application/json";
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, http.RequestAborted).ConfigureAwait(false);
    }

    private static void WriteMilliseconds(Utf8JsonWriter writer, ReadOnlySpan<byte> name, TimeSpan? value)
    {
        if (value is { } time)
        {
            writer.WriteNumber(name, Math.Round(time.TotalMilliseconds, 1));
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}

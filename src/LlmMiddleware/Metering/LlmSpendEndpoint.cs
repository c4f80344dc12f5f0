using System.Globalization;
using System.Text.Json;
using LlmMiddleware.Protocols;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Metering;

/// <summary>The spend report: <c>{"groupBy":"model","from":null,"to":null,"rows":[{"group":...,"calls":...,"cost":...}]}</c>.</summary>
internal static class LlmSpendEndpoint
{
    public static async Task HandleAsync(HttpContext http, LlmSpendAggregator spend)
    {
        var query = http.Request.Query;
        var groupBy = query["groupBy"].ToString() is { Length: > 0 } value ? value : "model";
        if (!Enum.TryParse<LlmSpendGrouping>(groupBy, ignoreCase: true, out var grouping) || int.TryParse(groupBy, out _) ||
            !TryParseDay(query["from"], out var from) || !TryParseDay(query["to"], out var to))
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsJsonAsync(new { error = new { message = "Use groupBy=model|key|team|day and optional from/to days as yyyy-MM-dd.", type = "invalid_request_error" } }).ConfigureAwait(false);
            return;
        }

        var rows = spend.Query(grouping, from, to);
        http.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(http.Response.BodyWriter, Json.WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("groupBy"u8, grouping.ToString().ToLowerInvariant());
        writer.WriteString("from"u8, from?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        writer.WriteString("to"u8, to?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        writer.WriteStartArray("rows"u8);
        foreach (var row in rows)
        {
            writer.WriteStartObject();
            writer.WriteString("group"u8, row.Group);
            writer.WriteNumber("calls"u8, row.Calls);
            writer.WriteNumber("inputTokens"u8, row.InputTokens);
            writer.WriteNumber("cachedInputTokens"u8, row.CachedInputTokens);
            writer.WriteNumber("outputTokens"u8, row.OutputTokens);
            writer.WriteNumber("cost"u8, row.Cost);
            writer.WriteNumber("unpricedCalls"u8, row.UnpricedCalls);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static bool TryParseDay(Microsoft.Extensions.Primitives.StringValues value, out DateOnly? day)
    {
        day = null;
        if (value.Count == 0 || value.ToString().Length == 0)
        {
            return true;
        }

        if (DateOnly.TryParseExact(value.ToString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            day = parsed;
            return true;
        }

        return false;
    }
}

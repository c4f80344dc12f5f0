using System.Globalization;
using System.Text.Json;
using LlmMiddleware.Protocols;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Endpoints;

/// <summary>
/// The spend report, a page at a time (highest cost first): <c>{"groupBy":"model","from":null,"to":null,"total":N,
/// "offset":0,"limit":100,"nextOffset":100|null,"rows":[{"group":...,"calls":...,"cost":...}]}</c>.
/// </summary>
internal static class SpendEndpoint
{
    public static async Task HandleAsync(HttpContext http, ILlmSpendReport spend)
    {
        var query = http.Request.Query;
        var groupBy = query["groupBy"].ToString() is { Length: > 0 } value ? value : "model";
        if (!Enum.TryParse<LlmSpendGrouping>(groupBy, ignoreCase: true, out var grouping) || int.TryParse(groupBy, out _) ||
            !TryParseDay(query["from"], out var from) || !TryParseDay(query["to"], out var to) ||
            !TryParseInt(query["limit"], DefaultLimit, 1, MaxLimit, out var limit) || !TryParseInt(query["offset"], 0, 0, int.MaxValue, out var offset))
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsJsonAsync(new { error = new { message = $"Use groupBy=model|key|team|user|app|day, optional from/to days as yyyy-MM-dd, limit 1-{MaxLimit} (default {DefaultLimit}) and offset.", type = "invalid_request_error" } }).ConfigureAwait(false);
            return;
        }

        var all = await spend.QueryAsync(grouping, from, to, http.RequestAborted).ConfigureAwait(false);
        var rows = all.Skip(offset).Take(limit);
        var next = offset + limit < all.Count ? offset + limit : (int?)null;
        http.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(http.Response.BodyWriter, Json.WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("groupBy"u8, grouping.ToString().ToLowerInvariant());
        writer.WriteString("from"u8, from?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        writer.WriteString("to"u8, to?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        writer.WriteNumber("total"u8, all.Count);
        writer.WriteNumber("offset"u8, offset);
        writer.WriteNumber("limit"u8, limit);
        if (next is { } nextOffset)
        {
            writer.WriteNumber("nextOffset"u8, nextOffset);
        }
        else
        {
            writer.WriteNull("nextOffset"u8);
        }

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

    private const int DefaultLimit = 100;
    private const int MaxLimit = 1000;

    private static bool TryParseInt(Microsoft.Extensions.Primitives.StringValues value, int fallback, int min, int max, out int result)
    {
        result = fallback;
        return value.Count == 0 || value.ToString().Length == 0 ||
            (int.TryParse(value.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out result) && result >= min && result <= max);
    }

    internal static bool TryParseDay(Microsoft.Extensions.Primitives.StringValues value, out DateOnly? day)
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

using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.Endpoints.Admin;

/// <summary>The admin API's JSON: web conventions, enums as camel-case names, errors as <c>{"error":{"message","type"}}</c>.</summary>
internal static class AdminJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static IResult Ok<T>(T value, int status = StatusCodes.Status200OK) => Results.Json(value, Options, statusCode: status);

    public static IResult Error(int status, string message) =>
        Results.Json(new { error = new { message, type = status switch { 404 => "not_found_error", 409 => "conflict_error", _ => "invalid_request_error" } } }, Options, statusCode: status);

    /// <summary>Reads a body of <typeparamref name="T"/>, or says why it cannot.</summary>
    public static async ValueTask<(T? Value, IResult? Error)> ReadAsync<T>(HttpRequest request)
        where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, Options, request.HttpContext.RequestAborted).ConfigureAwait(false) is { } value
                ? (value, null)
                : (null, Error(400, "The body must be a JSON object."));
        }
        catch (JsonException ex)
        {
            return (null, Error(400, $"The body is not valid: {ex.Message}"));
        }
    }

    /// <summary>An enum named in a path or query, in any case (<c>team</c>, <c>Team</c>); never a number.</summary>
    public static bool TryParse<TEnum>(string? text, out TEnum value)
        where TEnum : struct, Enum
    {
        value = default;
        return text is { Length: > 0 } && !char.IsAsciiDigit(text[0]) && text[0] != '-' && Enum.TryParse(text, ignoreCase: true, out value);
    }

    /// <summary>The service behind a part of the API, or a 404 saying which registration enables it.</summary>
    public static T? Service<T>(HttpContext http, string enabledBy, out IResult? missing)
        where T : class
    {
        var service = http.RequestServices.GetService(typeof(T)) as T;
        missing = service is null ? Error(404, $"Not enabled on this gateway: call {enabledBy} on the gateway builder.") : null;
        return service;
    }
}

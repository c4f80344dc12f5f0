using System.Buffers;
using System.Text.Json;

namespace LlmMiddleware.Protocols;

/// <summary>Reads provider error bodies of any protocol, and writes OpenAI and Anthropic error objects (protocols reference §4); the codecs use it.</summary>
internal static class Errors
{
    /// <summary>Parses an upstream error body of any of the three shapes; falls back to the status alone.</summary>
    public static LlmError Read(int status, ReadOnlySpan<byte> body)
    {
        string? message = null;
        string? type = null;
        string? code = null;
        string? param = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            using var doc = JsonDocument.ParseValue(ref reader);
            var error = Json.Property(doc.RootElement, "error"u8);
            if (error.ValueKind == JsonValueKind.Array && error.GetArrayLength() > 0)
            {
                error = error[0];
            }

            if (error.ValueKind == JsonValueKind.Object)
            {
                message = Json.String(error, "message"u8);
                type = Json.String(error, "type"u8) ?? Json.String(error, "status"u8);
                param = Json.String(error, "param"u8);
                var codeElement = Json.Property(error, "code"u8);
                code = codeElement.ValueKind switch
                {
                    JsonValueKind.String => codeElement.GetString(),
                    JsonValueKind.Number => codeElement.GetRawText(),
                    _ => null,
                };
            }
            else if (error.ValueKind == JsonValueKind.String)
            {
                message = error.GetString();
            }
        }
        catch (JsonException)
        {
            message = body.Length > 0 && body.Length < 2048 ? System.Text.Encoding.UTF8.GetString(body) : null;
        }

        var kind = type switch
        {
            "overloaded_error" or "UNAVAILABLE" => LlmErrorKind.Overloaded,
            "rate_limit_error" or "rate_limit_exceeded" or "RESOURCE_EXHAUSTED" => LlmErrorKind.RateLimit,
            "authentication_error" => LlmErrorKind.Authentication,
            "permission_error" or "PERMISSION_DENIED" => LlmErrorKind.Permission,
            "not_found_error" or "NOT_FOUND" => LlmErrorKind.NotFound,
            "request_too_large" => LlmErrorKind.RequestTooLarge,
            "billing_error" => LlmErrorKind.Billing,
            "timeout_error" or "DEADLINE_EXCEEDED" => LlmErrorKind.Timeout,
            _ => LlmError.KindFromStatus(status),
        };

        return new LlmError(kind, message ?? $"The provider returned HTTP {status}.", status) { Code = code, Param = param };
    }

    public static void WriteOpenAI(Utf8JsonWriter writer, LlmError error)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error"u8);
        writer.WriteString("message"u8, error.Message);
        writer.WriteString("type"u8, error.Kind switch
        {
            LlmErrorKind.Authentication => "invalid_request_error",
            LlmErrorKind.RateLimit => "rate_limit_exceeded",
            LlmErrorKind.Server or LlmErrorKind.Overloaded or LlmErrorKind.Timeout => "server_error",
            LlmErrorKind.Permission => "permission_error",
            _ => "invalid_request_error",
        });
        if (error.Param is { } param)
        {
            writer.WriteString("param"u8, param);
        }
        else
        {
            writer.WriteNull("param"u8);
        }

        var code = error.Code ?? error.Kind switch
        {
            LlmErrorKind.Authentication => "invalid_api_key",
            LlmErrorKind.NotFound => "model_not_found",
            LlmErrorKind.RateLimit => "rate_limit_exceeded",
            _ => null,
        };
        if (code is not null)
        {
            writer.WriteString("code"u8, code);
        }
        else
        {
            writer.WriteNull("code"u8);
        }

        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    public static void WriteAnthropic(Utf8JsonWriter writer, LlmError error)
    {
        writer.WriteStartObject();
        writer.WriteString("type"u8, "error"u8);
        writer.WriteStartObject("error"u8);
        writer.WriteString("type"u8, error.Kind switch
        {
            LlmErrorKind.Authentication => "authentication_error",
            LlmErrorKind.Billing => "billing_error",
            LlmErrorKind.Permission => "permission_error",
            LlmErrorKind.NotFound => "not_found_error",
            LlmErrorKind.RequestTooLarge => "request_too_large",
            LlmErrorKind.RateLimit => "rate_limit_error",
            LlmErrorKind.Overloaded => "overloaded_error",
            LlmErrorKind.Timeout => "timeout_error",
            LlmErrorKind.Server => "api_error",
            _ => "invalid_request_error",
        });
        writer.WriteString("message"u8, error.Message);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}

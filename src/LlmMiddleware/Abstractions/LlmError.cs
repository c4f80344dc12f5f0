namespace LlmMiddleware;

/// <summary>The protocol-neutral class of an error; each maps to an HTTP status and a type in every protocol.</summary>
public enum LlmErrorKind
{
    /// <summary>400: the request is malformed or unsupported.</summary>
    InvalidRequest,

    /// <summary>401: missing or bad credentials.</summary>
    Authentication,

    /// <summary>402: billing problem.</summary>
    Billing,

    /// <summary>403: not allowed.</summary>
    Permission,

    /// <summary>404: unknown model or resource.</summary>
    NotFound,

    /// <summary>413: request body too large.</summary>
    RequestTooLarge,

    /// <summary>429: rate limited.</summary>
    RateLimit,

    /// <summary>500/502: provider or gateway failure.</summary>
    Server,

    /// <summary>503/529: provider overloaded.</summary>
    Overloaded,

    /// <summary>504: timed out.</summary>
    Timeout,
}

/// <summary>An error to report to the caller in its own protocol.</summary>
/// <param name="Kind">The error class.</param>
/// <param name="Message">A human-readable message.</param>
/// <param name="StatusCode">The HTTP status; defaults from <paramref name="Kind"/> when 0.</param>
public sealed record LlmError(LlmErrorKind Kind, string Message, int StatusCode = 0)
{
    /// <summary>The offending parameter, when known.</summary>
    public string? Param { get; init; }

    /// <summary>A machine-readable code, when known (OpenAI <c>code</c>).</summary>
    public string? Code { get; init; }

    /// <summary>The HTTP status to send.</summary>
    public int Status => StatusCode != 0 ? StatusCode : DefaultStatus(Kind);

    /// <summary>The conventional HTTP status of an error class.</summary>
    public static int DefaultStatus(LlmErrorKind kind) => kind switch
    {
        LlmErrorKind.InvalidRequest => 400,
        LlmErrorKind.Authentication => 401,
        LlmErrorKind.Billing => 402,
        LlmErrorKind.Permission => 403,
        LlmErrorKind.NotFound => 404,
        LlmErrorKind.RequestTooLarge => 413,
        LlmErrorKind.RateLimit => 429,
        LlmErrorKind.Overloaded => 503,
        LlmErrorKind.Timeout => 504,
        _ => 500,
    };

    /// <summary>The error class of an HTTP status.</summary>
    public static LlmErrorKind KindFromStatus(int status) => status switch
    {
        401 => LlmErrorKind.Authentication,
        402 => LlmErrorKind.Billing,
        403 => LlmErrorKind.Permission,
        404 => LlmErrorKind.NotFound,
        413 => LlmErrorKind.RequestTooLarge,
        429 => LlmErrorKind.RateLimit,
        503 or 529 => LlmErrorKind.Overloaded,
        504 or 408 => LlmErrorKind.Timeout,
        >= 400 and < 500 => LlmErrorKind.InvalidRequest,
        _ => LlmErrorKind.Server,
    };
}

/// <summary>
/// Thrown by the gateway or by a host hook to end a request with an error; the gateway writes it in the
/// caller's protocol.
/// </summary>
public sealed class LlmGatewayException(LlmError error) : Exception(error.Message)
{
    /// <summary>The error to report.</summary>
    public LlmError Error { get; } = error;
}

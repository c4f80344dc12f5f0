using System.Security.Cryptography;
using System.Text;

/// <summary>
/// Who may use the operator endpoints — the admin API, the dashboard, spend, deployment health: whoever presents the
/// operator key (<c>LlmGateway:OperatorKey</c>), as <c>Authorization: Bearer &lt;key&gt;</c> or, from a browser, as
/// the password of the user <c>operator</c>. Without a key configured, each run makes up a demo key (shown on the start
/// page to local visitors only); configured empty, the endpoints refuse everyone.
/// </summary>
internal sealed class Operators
{
    public const string Policy = "llm-operator";
    public const string User = "operator";
    private readonly byte[] _key;

    public Operators(IConfiguration configuration)
    {
        var configured = configuration["LlmGateway:OperatorKey"];
        DemoKey = configured is null ? "op-demo-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)) : null;
        _key = Encoding.UTF8.GetBytes(configured ?? DemoKey!);
    }

    /// <summary>The key this run made up, or <see langword="null"/> when the host configured one.</summary>
    public string? DemoKey { get; }

    public bool Admit(HttpContext http)
    {
        var authorization = http.Request.Headers.Authorization.ToString();
        var presented = authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization[7..]
            : authorization.StartsWith("Basic ", StringComparison.Ordinal) ? BasicPassword(authorization[6..])
            : null;
        return _key.Length > 0 && presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _key);
    }

    /// <summary>Answers every request under <c>/llm</c> without the key with a plain 401 (a browser then asks for the
    /// user and password), before the host's authorization policy would.</summary>
    public void Guard(WebApplication app) =>
        app.UseWhen(http => http.Request.Path.StartsWithSegments("/llm"), operators => operators.Use((http, next) =>
        {
            if (Admit(http))
            {
                return next(http);
            }

            http.Response.Headers.WWWAuthenticate = "Basic realm=\"LLM gateway operators\", charset=\"UTF-8\"";
            return Results.Json(new { error = new { type = "authentication_error", message = "Operator endpoints need the operator key (LlmGateway:OperatorKey), as a bearer token or as the password of user 'operator'." } }, statusCode: 401).ExecuteAsync(http);
        }));

    private static string? BasicPassword(string encoded)
    {
        try
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
            return pair.StartsWith(User + ":", StringComparison.Ordinal) ? pair[(User.Length + 1)..] : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// Google's OAuth token endpoint for service accounts, strict as the real one: the assertion must be an RS256 JWT
/// signed by the service account's key, issued by its e-mail, for this endpoint and the cloud-platform scope, and
/// unexpired; it answers a short-lived access token that Vertex AI then requires.
/// </summary>
public sealed partial class FakeUpstream
{
    private const string ServiceAccountEmail = "gateway@fake-project.iam.gserviceaccount.com";
    private static readonly RSA ServiceAccountKey = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, bool> _googleTokens = new();
    private int _tokenExchanges;

    /// <summary>How many access tokens the token endpoint has issued.</summary>
    public int GoogleTokenExchanges => Volatile.Read(ref _tokenExchanges);

    /// <summary>A service account key whose token endpoint is this fake.</summary>
    public string ServiceAccountJson => new JsonObject
    {
        ["type"] = "service_account", ["project_id"] = "fake-project", ["private_key_id"] = "key-1",
        ["private_key"] = ServiceAccountKey.ExportPkcs8PrivateKeyPem(), ["client_email"] = ServiceAccountEmail, ["client_id"] = "1",
        ["token_uri"] = BaseUrl + "/google/token",
    }.ToJsonString();

    private bool IsGoogleToken(HttpContext http) =>
        http.Request.Headers.Authorization.ToString() is var header && header.StartsWith("Bearer ", StringComparison.Ordinal) && _googleTokens.ContainsKey(header[7..]);

    private async Task HandleGoogleTokenAsync(HttpContext http)
    {
        var form = await http.Request.ReadFormAsync();
        var problem = form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer" ? "unsupported_grant_type" : Verify(form["assertion"].ToString());
        if (problem is not null)
        {
            await WriteJsonAsync(http, 400, new JsonObject { ["error"] = "invalid_grant", ["error_description"] = problem }.ToJsonString());
            return;
        }

        var token = $"ya29.fake-{Interlocked.Increment(ref _tokenExchanges)}";
        _googleTokens[token] = true;
        await WriteJsonAsync(http, 200, new JsonObject { ["access_token"] = token, ["expires_in"] = 3599, ["token_type"] = "Bearer" }.ToJsonString());

        string? Verify(string assertion)
        {
            var parts = assertion.Split('.');
            if (parts.Length != 3)
            {
                return "Invalid JWT";
            }

            var header = JsonNode.Parse(Base64Url(parts[0]))!;
            var claims = JsonNode.Parse(Base64Url(parts[1]))!;
            var signed = ServiceAccountKey.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            return header["alg"]?.GetValue<string>() != "RS256" || !signed ? "Invalid JWT Signature."
                : claims["iss"]?.GetValue<string>() != ServiceAccountEmail ? "Invalid issuer"
                : claims["aud"]?.GetValue<string>() != "https://oauth2.googleapis.com/token" ? "Invalid JWT: audience"
                : claims["scope"]?.GetValue<string>()?.Contains("https://www.googleapis.com/auth/cloud-platform", StringComparison.Ordinal) != true ? "Invalid scope"
                : claims["exp"]?.GetValue<long>() is not { } exp || exp < now || claims["iat"]?.GetValue<long>() > now + 60 ? "Invalid JWT: token must be a short-lived token"
                : null;
        }

        static byte[] Base64Url(string text) => Convert.FromBase64String(text.Replace('-', '+').Replace('_', '/').PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '='));
    }
}

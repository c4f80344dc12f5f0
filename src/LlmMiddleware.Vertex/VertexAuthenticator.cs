using System.Net.Http.Headers;
using Google.Apis.Auth.OAuth2;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Vertex;

/// <summary>
/// Adds a Google OAuth access token (scope <c>cloud-platform</c>) to each request to the <c>vertex</c> and
/// <c>vertex-anthropic</c> providers. Google.Apis.Auth exchanges the service account's signed assertion for the token,
/// keeps it, and refreshes it before it expires.
/// </summary>
internal sealed class VertexAuthenticator(IOptions<LlmVertexOptions> options) : LlmProviderAuthenticator
{
    private const string Scope = "https://www.googleapis.com/auth/cloud-platform";
    private Task<ITokenAccess>? _credential;

    public override IReadOnlyCollection<string> ProviderTypes { get; } = ["vertex", "vertex-anthropic"];

    public override async ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Loaded once; a load that failed (an unreadable file, the metadata server away) is tried again next time.
        var loading = _credential is { IsFaulted: false } current ? current : _credential = CreateAsync(options.Value);
        var credential = await loading.ConfigureAwait(false);
        var token = await credential.GetAccessTokenForRequestAsync(request.RequestUri?.ToString(), cancellationToken).ConfigureAwait(false);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    private static async Task<ITokenAccess> CreateAsync(LlmVertexOptions options)
    {
        var json = options.CredentialsJson ?? (options.CredentialsFile is { } file ? await File.ReadAllTextAsync(file).ConfigureAwait(false) : null);
        var credential = json is not null
            ? CredentialFactory.FromJson<ServiceAccountCredential>(json).ToGoogleCredential()
            : await GoogleCredential.GetApplicationDefaultAsync().ConfigureAwait(false);
        return credential.CreateScoped(Scope);
    }
}

namespace LlmMiddleware;

/// <summary>
/// Authenticates requests to providers whose credentials are not a fixed key (Vertex AI's short-lived OAuth tokens):
/// each request to a provider of one of <see cref="ProviderTypes"/> passes through <see cref="AuthenticateAsync"/>
/// just before it is sent, retries included. Registered by the packages that provide one (<c>AddVertex()</c>).
/// </summary>
public abstract class LlmProviderAuthenticator
{
    /// <summary>The provider types (presets) this authenticates, such as <c>vertex</c> and <c>vertex-anthropic</c>.</summary>
    public abstract IReadOnlyCollection<string> ProviderTypes { get; }

    /// <summary>Adds the request's credentials (an <c>Authorization</c> header, a signature).</summary>
    public abstract ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken);
}

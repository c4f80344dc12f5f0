namespace LlmMiddleware.Vertex;

/// <summary>Credentials for Vertex AI (<c>LlmGateway:Vertex</c>). With neither set, Application Default Credentials
/// (<c>GOOGLE_APPLICATION_CREDENTIALS</c>, the metadata server, gcloud's login) are used.</summary>
public sealed class LlmVertexOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "LlmGateway:Vertex";

    /// <summary>A service account key file.</summary>
    public string? CredentialsFile { get; set; }

    /// <summary>A service account key's JSON itself (from a secret store).</summary>
    public string? CredentialsJson { get; set; }
}

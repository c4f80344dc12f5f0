using LlmMiddleware;
using LlmMiddleware.Vertex;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Vertex AI's authentication.</summary>
public static class LlmVertexGatewayBuilderExtensions
{
    /// <summary>
    /// Lets the gateway call Vertex AI: the <c>vertex</c> provider (Gemini) and <c>vertex-anthropic</c> (Claude), in
    /// the project and location of <c>LlmGateway:Providers:{name}:Project</c>/<c>Location</c> (else
    /// <c>GOOGLE_CLOUD_PROJECT</c>/<c>GOOGLE_CLOUD_LOCATION</c>), with credentials from <c>LlmGateway:Vertex</c> or
    /// Application Default Credentials.
    /// </summary>
    public static ILlmGatewayBuilder AddVertex(this ILlmGatewayBuilder builder, Action<LlmVertexOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<LlmVertexOptions>().BindConfiguration(LlmVertexOptions.SectionName)
            .Validate(o => o.CredentialsFile is null || File.Exists(o.CredentialsFile), "LlmGateway:Vertex:CredentialsFile does not exist.")
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.AddSingleton<LlmProviderAuthenticator, VertexAuthenticator>();
        return builder;
    }
}

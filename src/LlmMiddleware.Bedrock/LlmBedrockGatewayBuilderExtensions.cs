using LlmMiddleware;
using LlmMiddleware.Bedrock;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Amazon Bedrock's request signing.</summary>
public static class LlmBedrockGatewayBuilderExtensions
{
    /// <summary>
    /// Lets the gateway call Amazon Bedrock: the <c>bedrock</c> provider (the Converse API, any Bedrock model) and
    /// <c>bedrock-anthropic</c> (Claude through InvokeModel), in the region of <c>LlmGateway:Providers:{name}:Region</c>
    /// (else <c>AWS_REGION</c>), each request signed with SigV4 from <c>LlmGateway:Bedrock</c> or the AWS credential chain.
    /// </summary>
    public static ILlmGatewayBuilder AddBedrock(this ILlmGatewayBuilder builder, Action<LlmBedrockOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<LlmBedrockOptions>().BindConfiguration(LlmBedrockOptions.SectionName)
            .Validate(o => (o.AccessKeyId is null) == (o.SecretAccessKey is null), "LlmGateway:Bedrock:AccessKeyId and SecretAccessKey go together.")
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.AddSingleton<LlmProviderAuthenticator, BedrockSigner>();
        return builder;
    }
}

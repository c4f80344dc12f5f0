namespace LlmMiddleware.Bedrock;

/// <summary>
/// Credentials and region for Amazon Bedrock (<c>LlmGateway:Bedrock</c>). Without keys here, the AWS SDK's usual chain
/// is used: <c>AWS_ACCESS_KEY_ID</c>/<c>AWS_SECRET_ACCESS_KEY</c>/<c>AWS_SESSION_TOKEN</c>, <c>AWS_PROFILE</c> and the
/// shared credentials file, web identity, container and instance roles.
/// </summary>
public sealed class LlmBedrockOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "LlmGateway:Bedrock";

    /// <summary>The region requests are signed for (else <c>AWS_REGION</c>, <c>AWS_DEFAULT_REGION</c>, <c>us-east-1</c>).</summary>
    public string? Region { get; set; }

    /// <summary>An access key id, with <see cref="SecretAccessKey"/> (from a secret store).</summary>
    public string? AccessKeyId { get; set; }

    /// <summary>The secret of <see cref="AccessKeyId"/>.</summary>
    public string? SecretAccessKey { get; set; }

    /// <summary>A session token for temporary credentials.</summary>
    public string? SessionToken { get; set; }
}

using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Bedrock;

/// <summary>
/// Signs each request to the <c>bedrock</c> and <c>bedrock-anthropic</c> providers with AWS Signature Version 4
/// (service <c>bedrock</c>), through AWSSDK.Core's signer and credential chain; credentials that expire (roles,
/// sessions) are refreshed by the SDK.
/// </summary>
internal sealed class BedrockSigner(IOptions<LlmBedrockOptions> options) : LlmProviderAuthenticator
{
    // Resolved once; a chain that found nothing is tried again next time (PublicationOnly caches no exception).
    private readonly Lazy<AWSCredentials> _credentials = new(
        () => options.Value is { AccessKeyId: { } id, SecretAccessKey: { } secret } configured
            ? configured.SessionToken is { } token ? new SessionAWSCredentials(id, secret, token) : new BasicAWSCredentials(id, secret)
            : Amazon.Runtime.Credentials.DefaultAWSCredentialsIdentityResolver.GetCredentials(null),
        LazyThreadSafetyMode.PublicationOnly);

    private readonly RegionEndpoint _region = RegionEndpoint.GetBySystemName(
        options.Value.Region ?? Environment.GetEnvironmentVariable("AWS_REGION") ?? Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION") ?? "us-east-1");

    public override IReadOnlyCollection<string> ProviderTypes { get; } = ["bedrock", "bedrock-anthropic"];

    public override async ValueTask AuthenticateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var signing = new AWSSigningRequest
        {
            HttpMethod = request.Method,
            RequestUri = request.RequestUri!,
            Content = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false),
        };
        signing.Headers["host"] = request.RequestUri!.Authority;
        if (request.Content?.Headers.ContentType is { } contentType)
        {
            signing.Headers["content-type"] = contentType.ToString();
        }

        var signed = await AWSSigV4Signer.SignAsync(signing, new AWSSigV4Parameters { Credentials = _credentials.Value, Region = _region, Service = "bedrock", SignPayload = true }, cancellationToken).ConfigureAwait(false);
        foreach (var (name, value) in signed.Headers)
        {
            if (name.Equals("host", StringComparison.OrdinalIgnoreCase) || name.Equals("content-type", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }
    }
}

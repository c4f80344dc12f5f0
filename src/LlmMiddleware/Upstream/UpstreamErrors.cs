using LlmMiddleware.Providers;
using LlmMiddleware.Routing;

namespace LlmMiddleware.Upstream;

/// <summary>The errors of an upstream call that failed before the provider answered, in the caller's terms.</summary>
internal static class UpstreamErrors
{
    public static LlmGatewayException Unreachable(LlmProviderEndpoint provider) => new(UnreachableError(provider.Name));

    /// <summary>The error of a provider that could not be reached; also used when YARP could not reach it.</summary>
    public static LlmError UnreachableError(string? provider) =>
        new(LlmErrorKind.Server, $"Could not reach provider '{provider}'.", 502) { Code = LlmErrorCodes.UpstreamUnreachable };

    public static LlmGatewayException AtLimit(LlmDeployment deployment) =>
        new(new LlmError(LlmErrorKind.RateLimit, $"Deployment '{deployment.Name}' is at its request limit.") { Code = LlmErrorCodes.DeploymentLimit });

    public static LlmGatewayException TimedOut(LlmProviderEndpoint provider) =>
        new(new LlmError(LlmErrorKind.Timeout, $"Provider '{provider.Name}' did not answer in time."));
}

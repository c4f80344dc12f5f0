using Microsoft.Extensions.Logging;

namespace LlmMiddleware.Providers;

/// <summary>
/// Runs a provider's <see cref="LlmProviderAuthenticator"/> on each request, over the shared connection pool. Credentials
/// that cannot be had are a 502 for the caller (the cause is the operator's, and logged), never the gateway's 500.
/// </summary>
internal sealed partial class AuthenticatingHandler(LlmProviderAuthenticator authenticator, HttpMessageHandler pool, ILogger logger) : DelegatingHandler(pool)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            await authenticator.AuthenticateAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not LlmGatewayException)
        {
            Log.CredentialsFailed(logger, authenticator.GetType().Name, ex);
            throw new LlmGatewayException(new LlmError(LlmErrorKind.Server, "The gateway could not obtain credentials for the provider; its operator must fix its configuration.", 502)
            {
                Code = LlmErrorCodes.UpstreamAuthentication,
            });
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    // The pool is the registry's to dispose.
    protected override void Dispose(bool disposing)
    {
    }

    private static partial class Log
    {
        [LoggerMessage(44, LogLevel.Error, "{Authenticator} could not obtain credentials for a provider request.", EventName = "ProviderCredentialsFailed")]
        public static partial void CredentialsFailed(ILogger logger, string authenticator, Exception exception);
    }
}

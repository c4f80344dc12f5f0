namespace LlmMiddleware;

/// <summary>The <see cref="LlmError.Code"/>s the gateway itself gives (provider errors keep the provider's codes).</summary>
public static class LlmErrorCodes
{
    /// <summary>An unforeseen fault in the gateway or a host's hook or stage (500).</summary>
    public const string GatewayError = "gateway_error";

    /// <summary>The model is no alias, group or <c>provider/model</c> the gateway knows (404).</summary>
    public const string ModelNotFound = "model_not_found";

    /// <summary>The provider has no key or base URL configured (400).</summary>
    public const string ProviderNotConfigured = "provider_not_configured";

    /// <summary>No deployment of the model group fits the request, or the routing hooks vetoed all of them (400).</summary>
    public const string NoDeploymentFits = "no_deployment_fits";

    /// <summary>The model has no price and unpriced models are blocked (400).</summary>
    public const string ModelNotPriced = "model_not_priced";

    /// <summary>The deployment is at its <c>MaxConcurrency</c> or <c>RequestsPerMinute</c> (429).</summary>
    public const string DeploymentLimit = "deployment_limit";

    /// <summary>The deployment is cooling down after repeated failures (503).</summary>
    public const string DeploymentCoolingDown = "deployment_cooling_down";

    /// <summary>Every leg of a race failed (502).</summary>
    public const string RaceFailed = "race_failed";

    /// <summary>The provider could not be reached (502).</summary>
    public const string UpstreamUnreachable = "upstream_unreachable";

    /// <summary>The provider did not answer, or stalled its stream, within the time limits (504).</summary>
    public const string UpstreamTimeout = "upstream_timeout";

    /// <summary>The provider broke its stream (502).</summary>
    public const string UpstreamStreamBroken = "upstream_stream_broken";

    /// <summary>The provider's response could not be read (502).</summary>
    public const string UpstreamMalformedResponse = "upstream_malformed_response";

    /// <summary>The provider answered with a redirect, which the gateway never follows with its keys (502).</summary>
    public const string UpstreamRedirect = "upstream_redirect";

    /// <summary>The provider refused the gateway's own credentials (502; the provider's text is kept for the operator).</summary>
    public const string UpstreamAuthentication = "upstream_authentication";

    /// <summary>The call presented no API key, or one that is unknown, expired or revoked (401).</summary>
    public const string InvalidApiKey = "invalid_api_key";

    /// <summary>The caller's key may not use the requested model (403).</summary>
    public const string ModelNotAllowed = "model_not_allowed";

    /// <summary>A budget of the caller cannot hold the call's worst-case cost (429).</summary>
    public const string BudgetExceeded = "budget_exceeded";

    /// <summary>A rate limit of the caller, its model or model group is reached (429, with <c>retry-after</c>).</summary>
    public const string RateLimitExceeded = "rate_limit_exceeded";
}

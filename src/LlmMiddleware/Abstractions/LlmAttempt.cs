namespace LlmMiddleware;

/// <summary>How one upstream attempt of a call ended.</summary>
public enum LlmAttemptOutcome
{
    /// <summary>The attempt's response was relayed to the caller.</summary>
    Succeeded,

    /// <summary>The attempt failed (after its own retries); the next deployment was tried, or the failure was relayed.</summary>
    Failed,

    /// <summary>The attempt lost a race and was cancelled upstream; what it consumed is in <see cref="LlmAttempt.EstimatedUsage"/>.</summary>
    Cancelled,
}

/// <summary>One upstream attempt of a call: a deployment (or provider) tried, with its outcome and duration.</summary>
/// <param name="Deployment">The deployment name, or the provider name for calls that are not routed through a group.</param>
/// <param name="Provider">The provider.</param>
/// <param name="Model">The upstream model.</param>
/// <param name="StatusCode">The HTTP status, when one was received (or the status of the gateway's error).</param>
/// <param name="Outcome">How it ended.</param>
/// <param name="Duration">From sending to the decision.</param>
/// <param name="EstimatedUsage">For a cancelled race loser: an estimate of the tokens it was billed for (the whole prompt,
/// and what it had generated when cancelled), so the race's extra cost is visible.</param>
public sealed record LlmAttempt(string Deployment, string Provider, string Model, int? StatusCode, LlmAttemptOutcome Outcome, TimeSpan Duration, LlmUsage? EstimatedUsage = null);

namespace LlmMiddleware.Deployments;

/// <summary>Counts deployments' <c>MaxConcurrency</c> and <c>RequestsPerMinute</c> across the instances sharing a
/// store (<c>AddRedisGovernance()</c>); without one, each instance counts its own.</summary>
internal interface IDeploymentLimits
{
    /// <summary>A lease on a slot and a request of <paramref name="deployment"/>, or <see langword="null"/> when it is at a limit.</summary>
    ValueTask<object?> TryEnterAsync(LlmDeployment deployment);

    /// <summary>Gives the lease's slot back.</summary>
    void Leave(LlmDeployment deployment, object lease);
}

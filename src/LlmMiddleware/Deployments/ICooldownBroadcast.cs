namespace LlmMiddleware.Deployments;

/// <summary>Told when a deployment starts or ends a cooldown on this instance, so instances sharing a store can skip
/// it too (<see cref="LlmDeployment.CoolingUntil"/> is then set from what others say).</summary>
internal interface ICooldownBroadcast
{
    void Changed(LlmDeployment deployment);
}

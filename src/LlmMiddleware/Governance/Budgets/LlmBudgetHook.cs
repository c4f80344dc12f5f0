namespace LlmMiddleware;

/// <summary>
/// Told when spend crosses a budget's soft limit (<see cref="LlmBudget.SoftLimits"/>) or uses it up — once per
/// threshold and period. Runs off the request path; an exception is logged and affects nothing else. Register with
/// <c>AddBudgetHook&lt;T&gt;()</c>.
/// </summary>
public abstract class LlmBudgetHook
{
    /// <summary>Called when <paramref name="alert"/>'s threshold has been crossed.</summary>
    public abstract ValueTask OnSoftLimitAsync(LlmBudgetAlert alert, CancellationToken cancellationToken);
}

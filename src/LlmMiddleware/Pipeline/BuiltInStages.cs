namespace LlmMiddleware.Pipeline;

/// <summary>The service keys of the built-in stages that live above the pipeline (metering, the response cache, governance, experiments), so
/// the pipeline names them without depending on them.</summary>
internal static class BuiltInStages
{
    public const string Metering = "LlmMiddleware.Stages.Metering";

    public const string ResponseCache = "LlmMiddleware.Stages.ResponseCache";

    public const string VirtualKeys = "LlmMiddleware.Stages.VirtualKeys";

    public const string Budgets = "LlmMiddleware.Stages.Budgets";

    public const string Experiments = "LlmMiddleware.Stages.Experiments";

    public const string RateLimits = "LlmMiddleware.Stages.RateLimits";
}

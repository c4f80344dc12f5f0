namespace LlmMiddleware;

/// <summary>
/// The task the calls of a route perform, for experiment reports and spend by task: endpoint metadata
/// (<c>app.MapLlmGateway("/summaries").WithMetadata(new LlmTaskAttribute("summaries"))</c>), or a YARP route's
/// <c>Llm.Task</c> metadata. A call's <c>x-llm-task</c> header or body <c>metadata.task</c> takes precedence.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false)]
public sealed class LlmTaskAttribute(string task) : Attribute
{
    /// <summary>The task label.</summary>
    public string Task { get; } = task;
}

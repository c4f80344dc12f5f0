namespace LlmMiddleware.Pipeline;

/// <summary>
/// Puts one stage in place of stages the host ordered side by side, when together they can do their work more cheaply
/// (one round trip to a shared store instead of one each) with the same outcome; applied once, as the pipeline is
/// built. Registered by the capability that owns the stages, so the pipeline need not know them.
/// </summary>
internal interface IStageFusion
{
    void Fuse(List<LlmCallStage> stages);
}

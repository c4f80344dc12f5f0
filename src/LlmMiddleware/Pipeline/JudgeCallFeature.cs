namespace LlmMiddleware.Pipeline;

/// <summary>Marks an in-process call as the experiment judge's, scoring the answer <see cref="Judged"/> gave.</summary>
internal sealed record JudgeCallFeature(LlmExperimentAssignment Judged);

namespace LlmMiddleware;

/// <summary>Which experiment a call took part in and which of its arms served it.</summary>
/// <param name="Experiment">The experiment's name.</param>
/// <param name="Arm">The arm's name.</param>
/// <param name="Overridden">Whether the caller chose the arm (the <c>x-llm-arm</c> header, for debugging) rather than the split.</param>
public sealed record LlmExperimentAssignment(string Experiment, string Arm, bool Overridden = false);

using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware;

/// <summary>
/// The LLM judge of experiments, bound to <c>LlmGateway:Judge</c>: a model that scores a sample of the answers the
/// experiments' arms give, off the calls' path. Off until <see cref="Model"/> is set.
/// </summary>
public sealed class LlmJudgeOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "LlmGateway:Judge";

    /// <summary>The rubric a task without its own is judged by.</summary>
    public const string GeneralRubric = "Judge how well the answer serves the request: correct, complete, relevant and clear, "
        + "with nothing invented. A perfect answer scores 10; an answer that is wrong, unsafe or off the point scores 1.";

    /// <summary>The judge: an alias, a <c>provider/model</c> or a model group. Its calls are metered like any other,
    /// attributed to the experiment and arm they judge (role <see cref="LlmCallRole.Judge"/>).</summary>
    public string? Model { get; set; }

    /// <summary>How answers are scored; <see cref="LlmJudgeScoring.Absolute"/> unless set.</summary>
    public LlmJudgeScoring Scoring { get; set; } = LlmJudgeScoring.Absolute;

    /// <summary>The fraction of experiment calls judged, 0–1. Default 0.1.</summary>
    [Range(0d, 1d)]
    public double SampleRate { get; set; } = 0.1;

    /// <summary>How many answers may wait to be judged; past that new samples are dropped (counted in
    /// <c>llm_gateway.judge.samples</c>), never callers delayed. Default 1,000.</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 1_000;

    /// <summary>How many answers are judged at once. Default 2.</summary>
    [Range(1, 64)]
    public int Concurrency { get; set; } = 2;

    /// <summary>What a good answer is, by task (see <see cref="LlmRequestContext.Task"/>); <see cref="GeneralRubric"/> otherwise.</summary>
    public Dictionary<string, string> Rubrics { get; } = new(StringComparer.Ordinal);
}

/// <summary>How the judge scores an experiment's answers.</summary>
public enum LlmJudgeScoring
{
    /// <summary>Each answer on its own, from 1 to 10.</summary>
    Absolute,

    /// <summary>Each answer against another arm's answer to the same request (the control arm's; for the control arm,
    /// the next arm by name), made for the comparison and metered as the judge's: won (1), tied (0.5) or lost (0).</summary>
    Pairwise,
}

/// <summary>The judge's verdict on one answer of an experiment's arm.</summary>
/// <param name="RecordId">The judged call's record (<see cref="LlmCallRecord.Id"/>).</param>
/// <param name="Experiment">The experiment.</param>
/// <param name="Arm">The arm that answered.</param>
/// <param name="Task">The call's task, if labelled.</param>
/// <param name="Score">Absolute: 1 (useless) to 10 (perfect). Pairwise: 1 won, 0.5 tied, 0 lost against <paramref name="Opponent"/>.</param>
/// <param name="Rationale">Why, in the judge's words.</param>
/// <param name="JudgedAt">When the verdict came.</param>
/// <param name="Opponent">Pairwise: the arm the answer was compared with; <see langword="null"/> for an absolute score.</param>
public sealed record LlmJudgement(Guid RecordId, string Experiment, string Arm, string? Task, double Score, string Rationale, DateTimeOffset JudgedAt, string? Opponent = null);

/// <summary>Where verdicts are kept: in memory by default (the last 100,000), or a store the host registers.</summary>
public interface ILlmJudgementStore
{
    /// <summary>Keeps a verdict.</summary>
    ValueTask AddAsync(LlmJudgement judgement, CancellationToken cancellationToken);

    /// <summary>The verdicts on <paramref name="experiment"/>'s answers, oldest first.</summary>
    IAsyncEnumerable<LlmJudgement> ListAsync(string experiment, CancellationToken cancellationToken);
}

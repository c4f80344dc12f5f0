using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware;

/// <summary>Experiments, by name, bound from <c>LlmGateway:Experiments:&lt;name&gt;</c>; see <c>AddExperiments()</c>.</summary>
public sealed class LlmExperimentOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "LlmGateway:Experiments";

    /// <summary>The experiments, by name.</summary>
    public Dictionary<string, LlmExperiment> Experiments { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// An A/B test over the calls that name <see cref="Model"/>: each is served by one of the <see cref="Arms"/>, split by
/// their weights and sticky per caller (the same key, user or session always gets the same arm, on every instance).
/// </summary>
public sealed class LlmExperiment
{
    /// <summary>The model name callers send to take part (an alias of the experiment); the experiment's name when unset.</summary>
    public string? Model { get; set; }

    /// <summary>The arms, by name: each a model (an alias, a <c>provider/model</c> or a model group) and its share.</summary>
    public Dictionary<string, LlmExperimentArm> Arms { get; } = new(StringComparer.Ordinal);

    /// <summary>The arm that serves the calls while the experiment is not running; the first by name when unset.</summary>
    public string? Control { get; set; }

    /// <summary>What keeps a caller on one arm; <see cref="LlmExperimentStickiness.Key"/> unless set.</summary>
    public LlmExperimentStickiness StickyBy { get; set; } = LlmExperimentStickiness.Key;

    /// <summary>Whether it runs (between <see cref="StartsAt"/> and <see cref="EndsAt"/>, when set). <c>LlmExperiments</c>
    /// starts and stops it at run time. Default on.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>When it starts running, if not at once.</summary>
    public DateTimeOffset? StartsAt { get; set; }

    /// <summary>When it stops running, if ever.</summary>
    public DateTimeOffset? EndsAt { get; set; }

    /// <summary>Whether a caller may pick an arm with the <c>x-llm-arm</c> header (for debugging; recorded as overridden). Default on.</summary>
    public bool AllowOverride { get; set; } = true;

    /// <summary>The task label of its calls that name none.</summary>
    public string? Task { get; set; }
}

/// <summary>One arm of an <see cref="LlmExperiment"/>.</summary>
public sealed class LlmExperimentArm
{
    /// <summary>The model that serves the arm's calls: an alias, a <c>provider/model</c> or a model group.</summary>
    [Required]
    public string Model { get; set; } = "";

    /// <summary>The arm's share of the calls, relative to the others'. Default 1.</summary>
    [Range(0d, double.MaxValue)]
    public double Weight { get; set; } = 1;
}

/// <summary>What keeps a caller on one arm of an experiment.</summary>
public enum LlmExperimentStickiness
{
    /// <summary>The caller's key (a virtual key, or the fingerprint of the API key presented).</summary>
    Key,

    /// <summary>The caller's user (the request's <c>user</c>, else the key's owner); the key when there is none.</summary>
    User,

    /// <summary>The <c>x-llm-session</c> header; the key when there is none.</summary>
    Session,

    /// <summary>Nothing: every call is assigned afresh.</summary>
    None,
}

using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware;

/// <summary>Whose spending a budget caps: the identity a call gets from its virtual key (or the host's resolver).</summary>
public enum LlmBudgetScope
{
    /// <summary>One virtual key (its id).</summary>
    Key,

    /// <summary>A team: every key it owns.</summary>
    Team,

    /// <summary>A user: the key's owner, or the user the request names when the key has none.</summary>
    User,

    /// <summary>An app.</summary>
    App,

    /// <summary>A tag on the key: every key carrying it.</summary>
    Tag,
}

/// <summary>How often a budget starts over, in <see cref="LlmBudgetOptions.TimeZone"/>.</summary>
public enum LlmBudgetPeriod
{
    /// <summary>Never: a lifetime cap.</summary>
    Total,

    /// <summary>At midnight.</summary>
    Daily,

    /// <summary>At midnight on <see cref="LlmBudgetOptions.WeekStartsOn"/>.</summary>
    Weekly,

    /// <summary>At midnight on the first of the month.</summary>
    Monthly,
}

/// <summary>
/// A cap in USD on what callers of one scope may spend per period. A call is admitted only if its worst case fits:
/// the prompt's counted tokens and its <c>max_tokens</c> (or the model's output limit) at the priciest deployment it may
/// reach, once per race leg; once metered, the true cost is charged and the rest released.
/// </summary>
public sealed class LlmBudget
{
    /// <summary>Whose spending is capped.</summary>
    public LlmBudgetScope Scope { get; set; } = LlmBudgetScope.Key;

    /// <summary>The key id, team, user, app or tag; <c>*</c> gives each one of the scope its own budget of this size
    /// (a budget naming the subject takes precedence).</summary>
    [Required]
    public string Subject { get; set; } = "";

    /// <summary>The cap in USD.</summary>
    [Range(typeof(decimal), "0", "79228162514264337593543950335")]
    public decimal Limit { get; set; }

    /// <summary>How often the budget starts over; <see cref="LlmBudgetPeriod.Monthly"/> by default.</summary>
    public LlmBudgetPeriod Period { get; set; } = LlmBudgetPeriod.Monthly;

    /// <summary>Fractions of <see cref="Limit"/> (0–1) whose crossing raises a soft-limit alert once per period;
    /// <see langword="null"/> for 0.8.</summary>
    public double[]? SoftLimits { get; set; }

    /// <summary>A copy (the budget in force is never changed in place).</summary>
    public LlmBudget Clone() => new() { Scope = Scope, Subject = Subject, Limit = Limit, Period = Period, SoftLimits = SoftLimits is null ? null : [.. SoftLimits] };
}

/// <summary>A budget's state in its current period.</summary>
/// <param name="Budget">The budget.</param>
/// <param name="Subject">The key, team, user, app or tag whose account this is (a <c>*</c> budget has one per subject).</param>
/// <param name="Spent">Settled spend in the period, in USD.</param>
/// <param name="Reserved">Held for calls in flight, in USD.</param>
/// <param name="PeriodStart">When the period began.</param>
/// <param name="ResetsAt">When it starts over; <see langword="null"/> for a total budget.</param>
public sealed record LlmBudgetStatus(LlmBudget Budget, string Subject, decimal Spent, decimal Reserved, DateTimeOffset PeriodStart, DateTimeOffset? ResetsAt)
{
    /// <summary>What is left to admit calls against.</summary>
    public decimal Remaining => Math.Max(Budget.Limit - Spent - Reserved, 0m);
}

/// <summary>A soft limit crossed: spend reached <see cref="Threshold"/> of a budget in its period.</summary>
/// <param name="Status">The budget's state as the threshold was crossed.</param>
/// <param name="Threshold">The fraction of the limit crossed (1 when the budget is spent).</param>
public sealed record LlmBudgetAlert(LlmBudgetStatus Status, double Threshold);

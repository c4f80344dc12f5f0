using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware;

/// <summary>Budgets (configuration section <c>LlmGateway:Budgets</c>); change them at run time with <see cref="LlmBudgets"/>.</summary>
public sealed class LlmBudgetOptions
{
    /// <summary>The configuration section budgets are bound to.</summary>
    public const string SectionName = "LlmGateway:Budgets";

    /// <summary>The budgets.</summary>
    public IList<LlmBudget> Rules { get; set; } = [];

    /// <summary>The IANA (or Windows) id of the time zone periods start over in; UTC by default.</summary>
    [Required]
    public string TimeZone { get; set; } = "UTC";

    /// <summary>The day weekly budgets start over on; Monday by default.</summary>
    public DayOfWeek WeekStartsOn { get; set; } = DayOfWeek.Monday;

    /// <summary>The output a call is assumed to be able to produce when it sets no <c>max_tokens</c> and the catalog
    /// knows no output limit for the model; 32,768 by default.</summary>
    [Range(1, int.MaxValue)]
    public int AssumedMaxOutputTokens { get; set; } = 32_768;

    /// <summary>Adds a budget.</summary>
    public LlmBudgetOptions Add(LlmBudgetScope scope, string subject, decimal limit, LlmBudgetPeriod period = LlmBudgetPeriod.Monthly, params double[] softLimits)
    {
        Rules.Add(new LlmBudget { Scope = scope, Subject = subject, Limit = limit, Period = period, SoftLimits = softLimits.Length == 0 ? null : softLimits });
        return this;
    }
}

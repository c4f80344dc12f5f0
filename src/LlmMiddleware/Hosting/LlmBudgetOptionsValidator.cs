using Microsoft.Extensions.Options;

namespace LlmMiddleware;

/// <summary>Checks the budgets at start-up and reports every problem at once.</summary>
internal sealed class LlmBudgetOptionsValidator : IValidateOptions<LlmBudgetOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmBudgetOptions options)
    {
        var errors = new List<string>();
        LlmGatewayOptionsValidator.ValidateAnnotations(options, LlmBudgetOptions.SectionName, errors);
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(options.TimeZone, out _))
        {
            errors.Add($"{LlmBudgetOptions.SectionName}:TimeZone: '{options.TimeZone}' is not a time zone this machine knows.");
        }

        for (var i = 0; i < options.Rules.Count; i++)
        {
            var budget = options.Rules[i];
            var section = $"{LlmBudgetOptions.SectionName}:Rules:{i}";
            LlmGatewayOptionsValidator.ValidateAnnotations(budget, section, errors);
            if (budget.SoftLimits?.Any(t => t is <= 0 or > 1 || double.IsNaN(t)) == true)
            {
                errors.Add($"{section}:SoftLimits: each must be a fraction of the limit, greater than 0 and at most 1.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

using LlmMiddleware;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Refuses experiments that could not split calls: too few arms, no share, a control that is not an arm.</summary>
internal sealed class LlmExperimentOptionsValidator : IValidateOptions<LlmExperimentOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmExperimentOptions options)
    {
        var errors = new List<string>();
        var models = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (experimentName, experiment) in options.Experiments)
        {
            var section = $"{LlmExperimentOptions.SectionName}:{experimentName}";
            if (!models.Add(experiment.Model ?? experimentName))
            {
                errors.Add($"{section}: another experiment already takes calls naming '{experiment.Model ?? experimentName}'.");
            }

            if (experiment.Arms.Count < 2)
            {
                errors.Add($"{section}: an experiment needs at least two arms.");
            }

            foreach (var (armName, arm) in experiment.Arms)
            {
                LlmGatewayOptionsValidator.ValidateAnnotations(arm, $"{section}:Arms:{armName}", errors);
            }

            if (experiment.Arms.Count > 0 && !(experiment.Arms.Values.Sum(a => a.Weight) > 0))
            {
                errors.Add($"{section}: at least one arm needs a Weight above 0.");
            }

            if (experiment.Control is { } control && !experiment.Arms.ContainsKey(control))
            {
                errors.Add($"{section}: Control '{control}' is not one of its arms.");
            }

            if (experiment.StartsAt >= experiment.EndsAt)
            {
                errors.Add($"{section}: EndsAt must be after StartsAt.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

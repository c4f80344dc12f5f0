using Microsoft.Extensions.Options;

namespace LlmMiddleware;

/// <summary>Checks the rate limits at start-up and reports every problem at once.</summary>
internal sealed class LlmRateLimitOptionsValidator : IValidateOptions<LlmRateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmRateLimitOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.Rules.Count; i++)
        {
            var limit = options.Rules[i];
            var section = $"{LlmRateLimitOptions.SectionName}:Rules:{i}";
            LlmGatewayOptionsValidator.ValidateAnnotations(limit, section, errors);
            if (!limit.LimitsAnything)
            {
                errors.Add($"{section}: set at least one of RequestsPerMinute, TokensPerMinute and MaxConcurrentRequests.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

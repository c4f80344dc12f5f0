using LlmMiddleware.Governance;
using Microsoft.Extensions.Options;

namespace LlmMiddleware;

/// <summary>Checks the virtual key settings at start-up and reports every problem at once.</summary>
internal sealed class LlmVirtualKeyOptionsValidator : IValidateOptions<LlmVirtualKeyOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmVirtualKeyOptions options)
    {
        var errors = new List<string>();
        LlmGatewayOptionsValidator.ValidateAnnotations(options, LlmVirtualKeyOptions.SectionName, errors);

        foreach (var (id, key) in options.Keys)
        {
            var section = $"{LlmVirtualKeyOptions.SectionName}:Keys:{id}";
            if (!VirtualKeyIds.IsValid(id))
            {
                errors.Add($"{section}: the id is not 1-64 letters, digits, '_', '-' or '.'.");
            }

            if ((key.Secret is null) == (key.SecretHash is null))
            {
                errors.Add($"{section}: set exactly one of Secret and SecretHash.");
            }
            else if (key.Secret is { } secret && (secret.Length is < 16 or > KeyHash.MaxSecretLength || secret.AsSpan().Trim().Length != secret.Length))
            {
                errors.Add($"{section}: Secret must be 16-{KeyHash.MaxSecretLength} characters without surrounding spaces.");
            }
            else if (key.SecretHash is { } hash && !KeyHash.TryParse(hash, out _))
            {
                errors.Add($"{section}: SecretHash must be the secret's SHA-256 as 64 hex digits.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

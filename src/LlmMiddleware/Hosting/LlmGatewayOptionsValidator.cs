using LlmMiddleware.Providers;
using Microsoft.Extensions.Options;

namespace LlmMiddleware;

/// <summary>Checks the whole configuration at start-up and reports every problem at once.</summary>
internal sealed class LlmGatewayOptionsValidator : IValidateOptions<LlmGatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmGatewayOptions options)
    {
        var errors = new List<string>();
        ValidateAnnotations(options.Metering, "LlmGateway:Metering", errors);
        ValidateAnnotations(options.Cache, "LlmGateway:Cache", errors);
        ValidateAnnotations(options.Cache.Semantic, "LlmGateway:Cache:Semantic", errors);
        foreach (var (policyName, policy) in options.Cache.Policies)
        {
            ValidateAnnotations(policy, $"LlmGateway:Cache:Policies:{policyName}", errors);
            if (string.Equals(policyName, Caching.LlmResponseCache.OffPolicy, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"LlmGateway:Cache:Policies:{policyName}: the name '{Caching.LlmResponseCache.OffPolicy}' is reserved for no caching.");
            }
        }

        foreach (var (providerName, provider) in options.Providers)
        {
            var type = provider.Type ?? providerName;
            if (!ProviderPresets.All.TryGetValue(type, out var preset))
            {
                errors.Add($"LlmGateway:Providers:{providerName}: unknown Type '{type}'. Known types: {string.Join(", ", ProviderPresets.All.Keys.Order())}.");
                continue;
            }

            if (provider.BaseUrl is { } baseUrl && !(Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            {
                errors.Add($"LlmGateway:Providers:{providerName}: BaseUrl '{baseUrl}' is not an absolute http(s) URL.");
            }

            if (preset.DefaultBaseUrl is null && provider.BaseUrl is null && preset.BaseUrlVariable is null)
            {
                errors.Add($"LlmGateway:Providers:{providerName}: Type '{type}' needs a BaseUrl.");
            }
        }

        foreach (var (alias, route) in options.Models)
        {
            if (string.IsNullOrWhiteSpace(route.Provider) || !(options.Providers.ContainsKey(route.Provider) || ProviderPresets.All.ContainsKey(route.Provider)))
            {
                errors.Add($"LlmGateway:Models:{alias}: unknown Provider '{route.Provider}'.");
            }

            if (string.IsNullOrWhiteSpace(route.Model))
            {
                errors.Add($"LlmGateway:Models:{alias}: Model is required.");
            }
        }

        foreach (var (groupName, group) in options.Groups)
        {
            if (options.Models.ContainsKey(groupName))
            {
                errors.Add($"LlmGateway:Groups:{groupName}: the name is also a model alias; a caller's model name must mean one thing.");
            }

            if (group.Deployments.Count == 0)
            {
                errors.Add($"LlmGateway:Groups:{groupName}: at least one deployment is required.");
            }

            foreach (var fallback in group.Fallbacks.Where(f => !options.Groups.ContainsKey(f)))
            {
                errors.Add($"LlmGateway:Groups:{groupName}: fallback '{fallback}' is not a model group.");
            }

            if (group.Race.Attempts is < 1 or > 10 || group.Race.Delay < TimeSpan.Zero)
            {
                errors.Add($"LlmGateway:Groups:{groupName}: Race.Attempts must be between 1 and 10 and Race.Delay not negative.");
            }

            if (group.MaxRetries is < 0 or > 10)
            {
                errors.Add($"LlmGateway:Groups:{groupName}: MaxRetries must be between 0 and 10.");
            }

            if (group.Cooldown is { FailureRatio: <= 0 or > 1 } || group.Cooldown.MinimumThroughput < 2 ||
                group.Cooldown.SamplingDuration < TimeSpan.FromMilliseconds(500) || group.Cooldown.Duration < TimeSpan.FromMilliseconds(500))
            {
                errors.Add($"LlmGateway:Groups:{groupName}: Cooldown needs FailureRatio in (0, 1], MinimumThroughput ≥ 2, and SamplingDuration and Duration of at least 500 ms.");
            }

            for (var i = 0; i < group.Deployments.Count; i++)
            {
                var deployment = group.Deployments[i];
                var where = $"LlmGateway:Groups:{groupName}:Deployments:{i}";
                if (string.IsNullOrWhiteSpace(deployment.Provider) || !(options.Providers.ContainsKey(deployment.Provider) || ProviderPresets.All.ContainsKey(deployment.Provider)))
                {
                    errors.Add($"{where}: unknown Provider '{deployment.Provider}'.");
                }

                if (string.IsNullOrWhiteSpace(deployment.Model))
                {
                    errors.Add($"{where}: Model is required.");
                }

                if (deployment.MaxConcurrency < 1 || deployment.RequestsPerMinute < 1)
                {
                    errors.Add($"{where}: MaxConcurrency and RequestsPerMinute must be at least 1 when set.");
                }

                if (deployment.Weight < 0 || double.IsNaN(deployment.Weight))
                {
                    errors.Add($"{where}: Weight must be zero or more.");
                }

                if (deployment.BaseUrl is { } baseUrl && !(Uri.TryCreate(baseUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
                {
                    errors.Add($"{where}: BaseUrl '{baseUrl}' is not an absolute http(s) URL.");
                }
            }
        }

        if (options.MaxRequestBodyBytes <= 0)
        {
            errors.Add("LlmGateway:MaxRequestBodyBytes must be positive.");
        }

        if (options.DefaultMaxTokens <= 0)
        {
            errors.Add("LlmGateway:DefaultMaxTokens must be positive.");
        }

        if (options.FirstTokenTimeout <= TimeSpan.Zero || options.StreamIdleTimeout <= TimeSpan.Zero)
        {
            errors.Add("LlmGateway:FirstTokenTimeout and StreamIdleTimeout must be positive.");
        }

        if (options.MaxInlinedImages < 0 || options.MaxInlinedBytesPerRequest < 0 || options.MaxInlinedImageBytes < 0 || options.InlineImagesTimeout <= TimeSpan.Zero)
        {
            errors.Add("LlmGateway:MaxInlinedImages, MaxInlinedBytesPerRequest and MaxInlinedImageBytes must not be negative, and InlineImagesTimeout must be positive.");
        }

        if (options.UpstreamTimeout <= TimeSpan.Zero || options.ConnectTimeout <= TimeSpan.Zero)
        {
            errors.Add("LlmGateway:UpstreamTimeout and ConnectTimeout must be positive.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static void ValidateAnnotations(object options, string section, List<string> errors)
    {
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        if (!System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), results, validateAllProperties: true))
        {
            errors.AddRange(results.Select(e => $"{section}: {e.ErrorMessage}"));
        }
    }
}

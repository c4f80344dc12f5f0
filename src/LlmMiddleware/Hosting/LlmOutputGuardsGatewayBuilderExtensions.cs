using System.Text.RegularExpressions;
using LlmMiddleware;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers output guards.</summary>
public static class LlmOutputGuardsGatewayBuilderExtensions
{
    /// <summary>Adds an output guard that sees every answer before the caller, in registration order.</summary>
    public static ILlmGatewayBuilder AddOutputGuard<TGuard>(this ILlmGatewayBuilder builder)
        where TGuard : LlmOutputGuard
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<LlmOutputGuard, TGuard>());
        return builder;
    }

    /// <summary>Adds an output guard instance that sees every answer before the caller, in registration order.</summary>
    public static ILlmGatewayBuilder AddOutputGuard(this ILlmGatewayBuilder builder, LlmOutputGuard guard)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(guard);
        return builder;
    }

    /// <summary>
    /// Adds <see cref="LlmPiiRedactionGuard"/> (bound to <c>LlmGateway:PiiRedaction</c>): e-mail addresses, card numbers,
    /// US social security numbers and phone numbers in answers become <c>[REDACTED:{name}]</c>.
    /// </summary>
    public static ILlmGatewayBuilder AddPiiRedaction(this ILlmGatewayBuilder builder, Action<LlmPiiRedactionOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<LlmPiiRedactionOptions>().BindConfiguration(LlmPiiRedactionOptions.SectionName)
            .Validate(o => o.MaxMatchLength >= 0, "LlmGateway:PiiRedaction:MaxMatchLength must not be negative.")
            .Validate(o => o.Patterns.Count > 0 && o.Patterns.Values.All(Compiles), "LlmGateway:PiiRedaction:Patterns must hold at least one valid regular expression.")
            .ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return builder.AddOutputGuard<LlmPiiRedactionGuard>();

        static bool Compiles(string pattern)
        {
            try
            {
                _ = new Regex(pattern);
                return true;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
    }
}

using LlmMiddleware;
using LlmMiddleware.PostgreSql;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the PostgreSQL virtual key store.</summary>
public static class PostgreSqlKeyStoreGatewayBuilderExtensions
{
    /// <summary>
    /// Keeps virtual keys (their secrets' hashes) in PostgreSQL, shared by every instance (bound to
    /// <c>LlmGateway:KeyStore</c>, then <paramref name="configure"/>): a key issued, rotated or revoked on one instance
    /// works, or stops working, on all of them as soon as PostgreSQL's notification lands. Calls are still answered
    /// from each instance's memory. Use with <c>AddVirtualKeys()</c>.
    /// </summary>
    public static ILlmGatewayBuilder AddPostgreSqlKeyStore(this ILlmGatewayBuilder builder, Action<PostgreSqlKeyStoreOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<PostgreSqlKeyStoreOptions>().BindConfiguration("LlmGateway:KeyStore").ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddSingleton<PostgreSqlVirtualKeyStore>();
        builder.Services.Replace(ServiceDescriptor.Singleton<ILlmVirtualKeyStore>(sp => sp.GetRequiredService<PostgreSqlVirtualKeyStore>()));
        return builder;
    }
}

using LlmMiddleware;
using LlmMiddleware.PostgreSql;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds PostgreSQL storage for the response cache.</summary>
public static class PostgreSqlCacheGatewayBuilderExtensions
{
    /// <summary>
    /// Shares the response cache between gateway instances through PostgreSQL, bound to <c>LlmGateway:CacheStore</c> and
    /// then <paramref name="configure"/>: exact entries go to a table behind the <see cref="IDistributedCache"/> (the
    /// second level of the default <c>HybridCache</c>; this replaces any other <see cref="IDistributedCache"/>), semantic
    /// entries to another table, announced to every instance through LISTEN/NOTIFY. Tables are created on first use.
    /// </summary>
    public static ILlmGatewayBuilder AddPostgreSqlCache(this ILlmGatewayBuilder builder, Action<PostgreSqlCacheOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<PostgreSqlCacheOptions>().BindConfiguration("LlmGateway:CacheStore").ValidateDataAnnotations().ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddSingleton<PostgreSqlDistributedCache>();
        builder.Services.Replace(ServiceDescriptor.Singleton<IDistributedCache>(sp => sp.GetRequiredService<PostgreSqlDistributedCache>()));
        builder.Services.TryAddSingleton<PostgreSqlSemanticCacheStore>();
        builder.Services.Replace(ServiceDescriptor.Singleton<ILlmSemanticCacheStore>(sp => sp.GetRequiredService<PostgreSqlSemanticCacheStore>()));
        return builder;
    }

    /// <summary>Shares the response cache through the PostgreSQL database at <paramref name="connectionString"/>.</summary>
    public static ILlmGatewayBuilder AddPostgreSqlCache(this ILlmGatewayBuilder builder, string connectionString) =>
        builder.AddPostgreSqlCache(o => o.ConnectionString = connectionString);
}

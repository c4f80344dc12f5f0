using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.FunctionalTests.Caching;

/// <summary>Gateway instances sharing one real PostgreSQL: exact entries through its <c>IDistributedCache</c>, semantic
/// entries through LISTEN/NOTIFY.</summary>
[Collection(PostgreSqlCollection.Name)]
public class SharedCacheTests(PostgreSqlServer postgres) : SharedCacheContract
{
    private string _database = "";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _database = await postgres.CreateDatabaseAsync();
    }

    /// <summary>The LISTEN/NOTIFY channel; null for the default.</summary>
    protected virtual string? Channel => null;

    protected override void AddStore(ILlmGatewayBuilder gateway) => gateway.AddPostgreSqlCache(o =>
    {
        o.ConnectionString = _database;
        o.Channel = Channel ?? o.Channel;
    });
}

/// <summary>The same contract on a channel named in mixed case: PostgreSQL folds an unquoted LISTEN name to lower case
/// while <c>pg_notify</c> keeps the case, so the store must quote it or no instance hears another.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class SharedCacheMixedCaseChannelTests(PostgreSqlServer postgres) : SharedCacheTests(postgres)
{
    protected override string? Channel => "LlmSemanticCache";
}

using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.FunctionalTests.Caching;

/// <summary>Gateway instances sharing one real PostgreSQL: exact entries through its <c>IDistributedCache</c>, semantic
/// entries through LISTEN/NOTIFY.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class SharedCacheTests(PostgreSqlServer postgres) : SharedCacheContract
{
    private string _database = "";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _database = await postgres.CreateDatabaseAsync();
    }

    protected override void AddStore(ILlmGatewayBuilder gateway) => gateway.AddPostgreSqlCache(_database);

    protected override Task WaitForExactEntryAsync(int count = 1) => WaitForRowAsync("llm_cache_entries", count);

    protected override Task WaitForSemanticEntryAsync() => WaitForRowAsync("llm_semantic_cache", 1);

    private Task WaitForRowAsync(string table, int count) =>
        Poll.UntilAsync(async () => await PostgreSqlServer.RowsAsync(_database, table) >= count, $"Fewer than {count} rows reached {table}.");
}

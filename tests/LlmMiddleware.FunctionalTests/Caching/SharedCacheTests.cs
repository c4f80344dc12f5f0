using System.Net.Http.Headers;
using System.Text;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.FunctionalTests.Caching;

/// <summary>Two gateway instances sharing one real PostgreSQL see each other's exact and semantic entries.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class SharedCacheTests(PostgreSqlServer postgres) : IAsyncLifetime
{
    private readonly HttpClient _http = new();
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _upstream.DisposeAsync();
    }

    private Task<GatewayHost> StartAsync(string database) => GatewayHost.StartAsync(
        _upstream,
        b => b.Services.AddLlmGateway().AddPostgreSqlCache(database),
        app =>
        {
            app.MapLlmGateway();
            app.MapLlmGateway("/semantic").WithLlmCachePolicy("semantic");
        },
        new Dictionary<string, string?>
        {
            ["LlmGateway:Cache:Mode"] = "Exact",
            ["LlmGateway:Cache:Policies:semantic:Mode"] = "Semantic",
            ["LlmGateway:Cache:Policies:semantic:SimilarityThreshold"] = "0.9",
        });

    private async Task<string> CacheOutcomeAsync(GatewayHost gateway, string text, string prefix = "")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + prefix + "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"gpt","messages":[{"role":"user","content":"{{text}}"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "shared-tenant");
        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("Hello from openai", body);
        return response.Headers.GetValues("x-llm-cache").Single();
    }

    [Fact]
    public async Task AnExactEntryWrittenByOneInstanceIsAHitOnTheOther()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var a = await StartAsync(database);
        await using var b = await StartAsync(database);

        Assert.Equal("miss", await CacheOutcomeAsync(a, "Shared exact question"));

        // The entry reaches the table off the request path.
        for (var i = 0; await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_cache_entries") == 0; i++)
        {
            Assert.True(i < 500, "The entry never reached PostgreSQL.");
            await Task.Delay(10);
        }

        Assert.Equal("hit-exact", await CacheOutcomeAsync(b, "Shared exact question"));
        Assert.Single(_upstream.Calls);
    }

    [Fact]
    public async Task ASemanticEntryReachesTheOtherInstanceThroughNotify()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var a = await StartAsync(database);
        await using var b = await StartAsync(database);

        Assert.Equal("miss", await CacheOutcomeAsync(a, "How many moons does Jupiter have?", "/semantic"));
        for (var i = 0; await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_semantic_cache") == 0; i++)
        {
            Assert.True(i < 500, "The semantic entry never reached PostgreSQL.");
            await Task.Delay(10);
        }

        // Instance B learns of it through LISTEN/NOTIFY (not by reading at start-up: it was running already). Each try
        // is worded apart (punctuation only), so a try that misses cannot turn the next into an exact hit.
        string outcome;
        var attempt = 0;
        do
        {
            await Task.Delay(20);
            outcome = await CacheOutcomeAsync(b, "how many moons does Jupiter have" + new string('?', attempt), "/semantic");
        }
        while (outcome != "hit-semantic" && ++attempt < 100);

        Assert.Equal("hit-semantic", outcome);

        // A third instance started later loads the stored entry.
        await using var c = await StartAsync(database);
        for (attempt = 0; (outcome = await CacheOutcomeAsync(c, "How many moons does Jupiter have" + new string('!', attempt), "/semantic")) != "hit-semantic" && attempt < 100; attempt++)
        {
            await Task.Delay(20);
        }

        Assert.Equal("hit-semantic", outcome);
    }
}

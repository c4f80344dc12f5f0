using System.ClientModel;
using System.Diagnostics.Metrics;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// Virtual keys in PostgreSQL, shared by three gateway instances: a key issued on one works on all, a revocation on one
/// stops it on all as the store's notification lands, keys survive restarts, and calls never wait on the database —
/// with it down they are still answered from memory, and once it is back every instance catches up.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class KeyStoreTests(PostgreSqlServer postgres) : IAsyncLifetime
{
    private const string Demo = "sk-llm-demo-0123456789abcdef";
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    [Fact]
    public async Task AKeyIssuedOnOneInstanceWorksOnAllAndARevocationOnAnotherStopsItEverywhere()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var a = await StartAsync(database);
        await using var b = await StartAsync(database);
        await using var c = await StartAsync(database);
        using var bReceived = Received(b);
        using var cReceived = Received(c);

        var issued = await a.Services.GetRequiredService<LlmVirtualKeys>().CreateAsync(new LlmVirtualKey { Team = "shared" });
        await Sdks.UntilAsync(bReceived, () => b.Services.GetRequiredService<LlmVirtualKeys>().Find(issued.Key.Id) is not null);
        await Sdks.UntilAsync(cReceived, () => c.Services.GetRequiredService<LlmVirtualKeys>().Find(issued.Key.Id) is not null);
        foreach (var gateway in new[] { a, b, c })
        {
            await Sdks.OpenAI(gateway, issued.Secret).CompleteChatAsync([new UserChatMessage("shared key")]);
        }

        Assert.True(await b.Services.GetRequiredService<LlmVirtualKeys>().RevokeAsync(issued.Key.Id));
        using var aReceived = Received(a);
        await Sdks.UntilAsync(aReceived, () => a.Services.GetRequiredService<LlmVirtualKeys>().Find(issued.Key.Id)?.RevokedAt is not null);
        await Sdks.UntilAsync(cReceived, () => c.Services.GetRequiredService<LlmVirtualKeys>().Find(issued.Key.Id)?.RevokedAt is not null);

        foreach (var gateway in new[] { a, b, c })
        {
            var refused = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(gateway, issued.Secret).CompleteChatAsync([new UserChatMessage("revoked")]));
            Assert.Equal(401, refused.Status);
        }

        // The configured demo key was stored once, by whichever instance started first; a new instance loads both.
        Assert.Equal(2L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_virtual_keys"));
        Assert.Equal(0L, await PostgreSqlServer.ScalarAsync<long>(database, $"SELECT count(*) FROM llm_virtual_keys WHERE key::text LIKE '%{issued.Secret}%' OR secrets::text LIKE '%{issued.Secret}%'"));
        await using var restarted = await StartAsync(database);
        Assert.NotNull(restarted.Services.GetRequiredService<LlmVirtualKeys>().Find(issued.Key.Id)?.RevokedAt);
        await Sdks.OpenAI(restarted, Demo).CompleteChatAsync([new UserChatMessage("demo key")]);
    }

    [Fact]
    public async Task CallsAreAnsweredFromMemoryWhileTheDatabaseIsDownAndEveryInstanceCatchesUpWhenItIsBack()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var a = await StartAsync(database);
        await using var b = await StartAsync(database);
        using var bReceived = Received(b);
        var issued = await a.Services.GetRequiredService<LlmVirtualKeys>().CreateAsync(new LlmVirtualKey { Team = "outage" });
        await Sdks.UntilAsync(bReceived, () => b.Services.GetRequiredService<LlmVirtualKeys>().Find(issued.Key.Id) is not null);

        await postgres.StopAsync();
        try
        {
            await Sdks.OpenAI(a, issued.Secret).CompleteChatAsync([new UserChatMessage("database down")]);
            await Sdks.OpenAI(b, issued.Secret).CompleteChatAsync([new UserChatMessage("database down")]);
        }
        finally
        {
            await postgres.StartAsync();
        }

        Assert.True(await a.Services.GetRequiredService<LlmVirtualKeys>().RevokeAsync(issued.Key.Id));
        await Sdks.UntilAsync(bReceived, () => b.Services.GetRequiredService<LlmVirtualKeys>().Find(issued.Key.Id)?.RevokedAt is not null);
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(b, issued.Secret).CompleteChatAsync([new UserChatMessage("revoked while b reconnected")]));
        Assert.Equal(401, refused.Status);
    }

    private Task<GatewayHost> StartAsync(string database) => GatewayHost.StartAsync(
        _upstream,
        b => b.Services.AddLlmGateway().AddVirtualKeys().AddPostgreSqlKeyStore(o => o.ConnectionString = database),
        settings: new Dictionary<string, string?> { ["LlmGateway:VirtualKeys:Keys:demo:Secret"] = Demo });

    private static MetricCollector<long> Received(GatewayHost gateway) =>
        new(gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "llm_gateway.keys.received");

}

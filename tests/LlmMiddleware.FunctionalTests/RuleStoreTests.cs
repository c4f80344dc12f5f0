using System.ClientModel;
using System.Diagnostics.Metrics;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// Budgets and rate limits in PostgreSQL, shared by every instance: the first instance seeds them from its
/// configuration, a rule set or removed on one instance is in force on the others as its notification lands, and a
/// restarted instance starts with them.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class RuleStoreTests(PostgreSqlServer postgres) : IAsyncLifetime
{
    private const string Alpha = "sk-llm-alpha-0123456789abcdef";
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    [Fact]
    public async Task TheFirstInstanceSeedsTheRulesAndAChangeOnAnyInstanceReachesEveryOne()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var a = await StartAsync(database, configuredLimit: "100");
        await using var b = await StartAsync(database, configuredLimit: "1"); // the store was seeded: its configuration is not used
        using var aReceived = Received(a);
        using var bReceived = Received(b);
        var (aBudgets, bBudgets) = (a.Services.GetRequiredService<LlmBudgets>(), b.Services.GetRequiredService<LlmBudgets>());

        Assert.Equal(100m, Assert.Single(bBudgets.List()).Limit);
        await aBudgets.SetAsync(new LlmBudget { Scope = LlmBudgetScope.Team, Subject = "shared", Limit = 0m, Period = LlmBudgetPeriod.Total });
        await Sdks.UntilAsync(bReceived, () => bBudgets.List().Any(x => x.Subject == "shared"));
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(b, Alpha).CompleteChatAsync([new UserChatMessage("team budget set on another instance")]));
        await a.Services.GetRequiredService<LlmRateLimits>().SetAsync(new LlmRateLimit { Scope = LlmRateLimitScope.Model, Subject = "gpt", RequestsPerMinute = 1000 });
        await Sdks.UntilAsync(bReceived, () => b.Services.GetRequiredService<LlmRateLimits>().List().Count == 1);
        Assert.True(await bBudgets.RemoveAsync(LlmBudgetScope.Team, "shared", LlmBudgetPeriod.Total));
        await Sdks.UntilAsync(aReceived, () => !aBudgets.List().Any(x => x.Subject == "shared"));
        var admitted = await Sdks.OpenAI(a, Alpha).CompleteChatAsync([new UserChatMessage("removed on the other instance")]);

        Assert.Equal(429, refused.Status);
        Assert.Contains("budget_exceeded", refused.Message, StringComparison.Ordinal);
        Assert.NotNull(admitted.Value);
        await using var restarted = await StartAsync(database, configuredLimit: "5");
        Assert.Equal(100m, Assert.Single(restarted.Services.GetRequiredService<LlmBudgets>().List()).Limit);
        Assert.Equal(1000, Assert.Single(restarted.Services.GetRequiredService<LlmRateLimits>().List()).RequestsPerMinute);
    }

    private Task<GatewayHost> StartAsync(string database, string configuredLimit) => GatewayHost.StartAsync(
        _upstream,
        b => b.Services.AddLlmGateway().AddVirtualKeys().AddBudgets().AddRateLimits().AddPostgreSqlRuleStore(o => o.ConnectionString = database),
        settings: new Dictionary<string, string?>
        {
            ["LlmGateway:VirtualKeys:Keys:alpha:Secret"] = Alpha,
            ["LlmGateway:VirtualKeys:Keys:alpha:Team"] = "shared",
            ["LlmGateway:Budgets:Rules:0:Scope"] = "Key",
            ["LlmGateway:Budgets:Rules:0:Subject"] = "alpha",
            ["LlmGateway:Budgets:Rules:0:Limit"] = configuredLimit,
        });

    private static MetricCollector<long> Received(GatewayHost gateway) =>
        new(gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "llm_gateway.governance.rules.received");

}

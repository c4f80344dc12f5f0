using System.ClientModel;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Budgets counted in memory start from the PostgreSQL ledger: a restart does not hand a budget back.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class BudgetHistoryTests(PostgreSqlServer postgres) : IAsyncLifetime
{
    private const string Alpha = "sk-llm-alpha-0123456789abcdef";
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    [Theory]
    [InlineData("Key", "alpha")]
    [InlineData("Tag", "env=dev")]
    public async Task ARestartedInstanceCountsWhatTheLedgerHoldsForThePeriod(string scope, string subject)
    {
        var database = await postgres.CreateDatabaseAsync();
        await using (var first = await StartAsync(database, scope, subject))
        {
            await Sdks.OpenAI(first, Alpha).CompleteChatAsync([new UserChatMessage("spend $7 of $15")], new ChatCompletionOptions { MaxOutputTokenCount = 10 });
            await first.StopAsync(); // the record reaches the ledger
        }

        await using var restarted = await StartAsync(database, scope, subject);
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(restarted, Alpha).CompleteChatAsync([new UserChatMessage("$10 more would pass $15")], new ChatCompletionOptions { MaxOutputTokenCount = 10 }));
        var status = Assert.Single(await restarted.Services.GetRequiredService<LlmBudgets>().StatusAsync(Enum.Parse<LlmBudgetScope>(scope), subject));
        var admitted = await Sdks.OpenAI(restarted, Alpha).CompleteChatAsync([new UserChatMessage("$8 fits")], new ChatCompletionOptions { MaxOutputTokenCount = 8 });

        Assert.Equal(429, refused.Status);
        Assert.Contains("budget_exceeded", refused.Message, StringComparison.Ordinal);
        Assert.Equal(7m, status.Spent); // what the first instance spent, from the ledger
        Assert.NotNull(admitted.Value);
    }

    private Task<GatewayHost> StartAsync(string database, string scope, string subject) => GatewayHost.StartAsync(
        _upstream,
        b => b.Services.AddLlmGateway().AddVirtualKeys().AddBudgets().AddPostgreSqlLedger(database)
            .SetPrice("openai", "gpt-4o-mini", new LlmModelPricing { Input = 0m, Output = 1_000_000m, Version = "test" }),
        settings: new Dictionary<string, string?>
        {
            ["LlmGateway:VirtualKeys:Keys:alpha:Secret"] = Alpha,
            ["LlmGateway:VirtualKeys:Keys:alpha:Tags:env"] = "dev",
            ["LlmGateway:Budgets:Rules:0:Scope"] = scope,
            ["LlmGateway:Budgets:Rules:0:Subject"] = subject,
            ["LlmGateway:Budgets:Rules:0:Limit"] = "15",
            ["LlmGateway:Budgets:Rules:0:Period"] = "Total",
        });

}

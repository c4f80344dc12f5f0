using System.Net;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Racing (hedged requests) across a group's deployments, with Polly hedging.</summary>
public sealed class RaceTests : GroupGatewayTestBase
{
    private readonly CollectingSink _records = new();

    protected override void ConfigureServices(Microsoft.AspNetCore.Builder.WebApplicationBuilder builder) =>
        Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions.AddSingleton<ILlmCallRecordSink>(builder.Services, _records);

    protected override Dictionary<string, string?> Settings => new()
    {
        ["LlmGateway:Groups:race:Deployments:0:Provider"] = "openai",
        ["LlmGateway:Groups:race:Deployments:0:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:race:Deployments:1:Provider"] = "anthropic",
        ["LlmGateway:Groups:race:Deployments:1:Model"] = "claude-sonnet-4-5",
        ["LlmGateway:Groups:race:MaxRetries"] = "0",
        ["LlmGateway:Groups:race:Race:Attempts"] = "2",
        ["LlmGateway:Groups:race:Race:Delay"] = "00:00:00",
        ["LlmGateway:Groups:content:Deployments:0:Provider"] = "anthropic",
        ["LlmGateway:Groups:content:Deployments:0:Model"] = "claude-sonnet-4-5",
        ["LlmGateway:Groups:content:Deployments:1:Provider"] = "openai",
        ["LlmGateway:Groups:content:Deployments:1:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:content:Race:Attempts"] = "2",
        ["LlmGateway:Groups:content:Race:Delay"] = "00:00:00",
        ["LlmGateway:Groups:hedge:Deployments:0:Provider"] = "openai",
        ["LlmGateway:Groups:hedge:Deployments:0:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:hedge:Deployments:1:Provider"] = "anthropic",
        ["LlmGateway:Groups:hedge:Deployments:1:Model"] = "claude-sonnet-4-5",
        ["LlmGateway:Groups:hedge:MaxRetries"] = "0",
        ["LlmGateway:Groups:hedge:Race:Attempts"] = "2",
        ["LlmGateway:Groups:hedge:Race:Delay"] = "00:00:30",
    };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheFastLegWinsAndTheSlowLegIsCancelledUpstreamButCounted(bool stream)
    {
        // The slow leg surely reaches the provider before the fast one answers, so its cancellation is observable.
        Upstream.Enqueue(new FakeFault { Provider = "openai", HeaderDelay = TimeSpan.FromSeconds(30) });
        Upstream.Enqueue(new FakeFault { Provider = "anthropic", AfterCallTo = "openai" });
        using var attempts = Collect<long>("llm_gateway.attempts");

        var (status, body, headers, context) = await ChatAsync("race", stream);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Hello from anthropic: hi", Join(body, stream));
        Assert.Equal("anthropic/claude-sonnet-4-5", headers.GetValues("x-llm-deployment").Single());
        var cancelled = await Task.WhenAny(Upstream.StreamCancelled.Task, Task.Delay(TimeSpan.FromSeconds(15)));
        Assert.Same(Upstream.StreamCancelled.Task, cancelled);
        var winner = Assert.Single(context.Attempts, a => a.Outcome == LlmAttemptOutcome.Succeeded);
        Assert.Equal("anthropic", winner.Provider);
        await attempts.WaitForMeasurementsAsync(2, TimeSpan.FromSeconds(30)); // the loser is recorded as its leg ends

        var loser = Assert.Single(context.Attempts, a => a.Outcome == LlmAttemptOutcome.Cancelled);
        Assert.Equal("openai/gpt-4o-mini", loser.Deployment);
        Assert.True(loser.EstimatedUsage!.Value.InputTokens > 0);
        Assert.Equal("anthropic", context.ProviderName);

        // Both legs are metered: the winner as the call, the loser with what it was billed for, at its own model's price.
        var winnerRecord = await _records.WaitForAsync(r => r.Role == LlmCallRole.RaceWinner);
        var loserRecord = await _records.WaitForAsync(r => r.Role == LlmCallRole.RaceLoser);
        Assert.Equal(("anthropic", LlmCallStatus.Succeeded), (winnerRecord.Provider, winnerRecord.Status));
        Assert.Equal(("openai", "gpt-4o-mini", LlmCallStatus.Cancelled), (loserRecord.Provider, loserRecord.Model, loserRecord.Status));
        Assert.Equal(winnerRecord.RequestId, loserRecord.RequestId);
        Assert.Equal(loser.EstimatedUsage!.Value.InputTokens, loserRecord.InputTokens);
        Assert.True(loserRecord.Cost > 0m);

        // The traffic report (the dashboard's) counts the win and the loss on their deployments.
        var traffic = await Gateway.Services.GetRequiredService<ILlmTrafficReport>().QueryAsync(null, null, default);
        Assert.Equal((1L, 1L, 0L), traffic.Where(r => r.Provider == "anthropic").Select(r => (r.Calls, r.RaceWins, r.RaceLosses)).Single());
        Assert.Equal((0L, 0L, 1L), traffic.Where(r => r.Provider == "openai").Select(r => (r.Calls, r.RaceWins, r.RaceLosses)).Single());
    }

    [Fact]
    public async Task InAStreamRaceTheFirstContentWinsNotTheFirstEvent()
    {
        // Anthropic opens its stream at once (message_start) but its text comes a second later; OpenAI's text is immediate.
        Upstream.Enqueue(new FakeFault { Provider = "anthropic", EventDelay = TimeSpan.FromSeconds(1) });

        var (status, body, headers, _) = await ChatAsync("content", stream: true);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Hello from openai: hi", Join(body, stream: true));
        Assert.Equal("openai/gpt-4o-mini", headers.GetValues("x-llm-deployment").Single());
    }

    [Fact]
    public async Task AHedgeWaitsForItsDelayAndIsNotNeededWhenThePrimaryAnswers()
    {
        var (status, body, _, context) = await ChatAsync("hedge");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Hello from openai", body);
        Assert.Single(context.Attempts);
        Assert.DoesNotContain(Upstream.Calls, c => c.Provider == "anthropic");
    }

    [Fact]
    public async Task AFailedPrimaryLaunchesTheHedgeWithoutWaiting()
    {
        Upstream.Enqueue(new FakeFault { Provider = "openai", Status = 503, Body = "{}" });
        using var attempts = Collect<long>("llm_gateway.attempts");

        var (status, body, _, context) = await ChatAsync("hedge");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Hello from anthropic", body);
        await attempts.WaitForMeasurementsAsync(2, TimeSpan.FromSeconds(30));

        Assert.Equal(LlmAttemptOutcome.Failed, Assert.Single(context.Attempts, a => a.Provider == "openai").Outcome);
        Assert.Equal(LlmAttemptOutcome.Succeeded, Assert.Single(context.Attempts, a => a.Provider == "anthropic").Outcome);
    }

    private static string Join(string body, bool stream) => stream ? StreamText.JoinOpenAIContent(body) : body;
}

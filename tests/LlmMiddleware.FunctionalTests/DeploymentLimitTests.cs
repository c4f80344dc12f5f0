using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Deployments at their concurrency or rate limit are passed over. No time limits are configured, so a slow
/// machine cannot turn a held call into a fallback.</summary>
public sealed class DeploymentLimitTests : GroupGatewayTestBase
{
    protected override Dictionary<string, string?> Settings => new()
    {
        ["LlmGateway:Groups:concurrency:Deployments:0:Provider"] = "openai",
        ["LlmGateway:Groups:concurrency:Deployments:0:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:concurrency:Deployments:0:MaxConcurrency"] = "1",
        ["LlmGateway:Groups:concurrency:Deployments:1:Provider"] = "anthropic",
        ["LlmGateway:Groups:concurrency:Deployments:1:Model"] = "claude-sonnet-4-5",
        ["LlmGateway:Groups:rate:Deployments:0:Provider"] = "openai",
        ["LlmGateway:Groups:rate:Deployments:0:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:rate:Deployments:0:RequestsPerMinute"] = "1",
        ["LlmGateway:Groups:rate:Deployments:1:Provider"] = "anthropic",
        ["LlmGateway:Groups:rate:Deployments:1:Model"] = "claude-sonnet-4-5",
    };

    protected override void ConfigureApp(WebApplication app)
    {
        app.MapLlmGateway();
        app.MapLlmDeploymentHealth();
    }

    [Fact]
    public async Task ADeploymentAtItsConcurrencyLimitIsPassedOver()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Upstream.Enqueue(new FakeFault { Provider = "openai", HoldUntil = release.Task });
        var held = ChatAsync("concurrency");
        await Upstream.WaitForCallsAsync(calls => calls.Any(c => c.Provider == "openai"), "The held call never reached the upstream.");
        Assert.True(await InFlightAsync("openai/gpt-4o-mini"));

        var (_, second, _, _) = await ChatAsync("concurrency");
        release.SetResult();
        var (_, first, _, _) = await held;

        Assert.Contains("Hello from anthropic", second);
        Assert.Contains("Hello from openai", first);
    }

    [Fact]
    public async Task ADeploymentAtItsRequestsPerMinuteLimitIsPassedOver()
    {
        var (_, first, _, _) = await ChatAsync("rate");
        var (_, second, _, _) = await ChatAsync("rate");

        Assert.Contains("Hello from openai", first);
        Assert.Contains("Hello from anthropic", second);
    }

    private async Task<bool> InFlightAsync(string deployment)
    {
        using var health = JsonDocument.Parse(await Http.GetStringAsync(Gateway.BaseUrl + "/llm/deployments"));
        return health.RootElement.GetProperty("deployments").EnumerateArray().Any(d =>
            d.GetProperty("group").GetString() == "concurrency" && d.GetProperty("name").GetString() == deployment && d.GetProperty("in_flight").GetInt32() == 1);
    }
}

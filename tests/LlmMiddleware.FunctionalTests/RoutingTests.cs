using System.ClientModel;
using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Model groups served end to end: strategies, "fits", routing hooks, per-deployment endpoints.</summary>
public sealed class RoutingTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    /// <summary>Keeps EU tenants on deployments tagged "eu".</summary>
    private sealed class ResidencyHook : LlmRoutingHook
    {
        public override ValueTask OnRoutingAsync(LlmRoutingContext context, CancellationToken cancellationToken)
        {
            if (context.Call.HttpContext.Request.Headers["x-tenant-region"] == "eu")
            {
                context.Candidates.RemoveAll(d => !d.Tags.Contains("eu"));
            }

            return ValueTask.CompletedTask;
        }
    }

    private static Dictionary<string, string?> Groups => new()
    {
        ["LlmGateway:Groups:smart:Strategy"] = "Priority",
        ["LlmGateway:Groups:smart:Deployments:0:Provider"] = "gemini",
        ["LlmGateway:Groups:smart:Deployments:0:Model"] = "gemini-2.5-flash",
        ["LlmGateway:Groups:smart:Deployments:0:Tags:0"] = "us",
        ["LlmGateway:Groups:smart:Deployments:1:Provider"] = "anthropic",
        ["LlmGateway:Groups:smart:Deployments:1:Model"] = "claude-sonnet-4-5",
        ["LlmGateway:Groups:smart:Deployments:1:Tags:0"] = "eu",
        ["LlmGateway:Groups:fit:Strategy"] = "CheapestThatFits",
        ["LlmGateway:Groups:fit:Deployments:0:Provider"] = "gemini",
        ["LlmGateway:Groups:fit:Deployments:0:Model"] = "gemini-2.5-flash",
        ["LlmGateway:Groups:fit:Deployments:1:Provider"] = "openai",
        ["LlmGateway:Groups:fit:Deployments:1:Model"] = "gpt-4o-mini",
    };

    private async Task<(GatewayHost Gateway, RecordingHook Hook)> StartAsync(IDictionary<string, string?>? extra = null)
    {
        var hook = new RecordingHook();
        var settings = Groups;
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddRoutingHook<ResidencyHook>().AddHook(hook), settings: settings);
        return (gateway, hook);
    }

    private static Task<HttpResponseMessage> ChatAsync(HttpClient http, GatewayHost gateway, string model, string text, string? region = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + "/v1/chat/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { model, messages = new[] { new { role = "user", content = text } } }), Encoding.UTF8, "application/json"),
        };
        if (region is not null)
        {
            request.Headers.Add("x-tenant-region", region);
        }

        return http.SendAsync(request);
    }

    [Fact]
    public async Task GroupsRouteByStrategyAndRoutingHooksCanVeto()
    {
        var (gateway, hook) = await StartAsync();
        await using var _ = gateway;

        using var us = await ChatAsync(fixture.Http, gateway, "smart", "hi");
        using var eu = await ChatAsync(fixture.Http, gateway, "smart", "hi", region: "eu");

        Assert.Contains("Hello from gemini", await us.Content.ReadAsStringAsync());
        Assert.Contains("Hello from anthropic", await eu.Content.ReadAsStringAsync());
        var contexts = hook.Completed.ToArray();
        Assert.Equal("gemini/gemini-2.5-flash", contexts[0].Deployment!.Name);
        Assert.Equal("anthropic/claude-sonnet-4-5", contexts[1].Deployment!.Name);
        Assert.Equal("smart", contexts[1].Deployment!.Group);
        Assert.NotNull(contexts[1].Deployment!.AverageDuration);
        Assert.Equal(0, contexts[1].Deployment!.InFlight);
    }

    [Fact]
    public async Task CheapestThatFitsRoutesAwayFromAContextThatIsTooSmall()
    {
        var (gateway, hook) = await StartAsync();
        await using var _ = gateway;

        using var small = await ChatAsync(fixture.Http, gateway, "fit", "short question");
        using var large = await ChatAsync(fixture.Http, gateway, "fit", new string('w', 600_000));

        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Equal(HttpStatusCode.OK, large.StatusCode);
        var contexts = hook.Completed.ToArray();
        Assert.Equal("openai", contexts[0].ProviderName);
        Assert.Equal("gemini", contexts[1].ProviderName);
    }

    [Fact]
    public async Task WhenNothingFitsOrEverythingIsVetoedTheCallerIsToldWhy()
    {
        var (gateway, _) = await StartAsync(new Dictionary<string, string?> { ["LlmGateway:Groups:smart:Deployments:1:Tags:0"] = "us" });
        await using var __ = gateway;
        var calls = fixture.Upstream.Calls.Count;

        using var vetoed = await ChatAsync(fixture.Http, gateway, "smart", "hi", region: "eu");
        using var tooLarge = await ChatAsync(fixture.Http, gateway, "fit", new string('w', 6_000_000));

        foreach (var response in new[] { vetoed, tooLarge })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("no_deployment_fits", json.RootElement.GetProperty("error").GetProperty("code").GetString());
        }

        Assert.Equal(calls, fixture.Upstream.Calls.Count);
    }

    [Fact]
    public async Task DeploymentsCanHaveTheirOwnEndpointAndKeyAndGroupsAreListed()
    {
        var (gateway, hook) = await StartAsync(new Dictionary<string, string?>
        {
            ["LlmGateway:Groups:regional:Deployments:0:Provider"] = "openai",
            ["LlmGateway:Groups:regional:Deployments:0:Model"] = "gpt-4o-mini",
            ["LlmGateway:Groups:regional:Deployments:0:Name"] = "openai-second-resource",
            ["LlmGateway:Groups:regional:Deployments:0:BaseUrl"] = fixture.Upstream.BaseUrl + "/mistral/v1",
            ["LlmGateway:Groups:regional:Deployments:0:ApiKey"] = FakeUpstream.MistralKey,
        });
        await using var _ = gateway;
        var client = new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(gateway.BaseUrl + "/v1") }).GetChatClient("regional");

        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("routed")]);
        using var models = JsonDocument.Parse(await fixture.Http.GetStringAsync(gateway.BaseUrl + "/v1/models"));

        Assert.Equal("Hello from mistral: routed", completion.Content[0].Text);
        Assert.Equal("openai-second-resource", hook.Completed.Single().Deployment!.Name);
        var groups = models.RootElement.GetProperty("data").EnumerateArray().Where(m => m.GetProperty("owned_by").GetString() == "group").Select(m => m.GetProperty("id").GetString());
        Assert.Equal(["fit", "regional", "smart"], groups);
    }

    [Fact]
    public async Task InvalidGroupsStopStartup()
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?>
        {
            ["LlmGateway:Groups:gpt:Deployments:0:Provider"] = "nowhere",
            ["LlmGateway:Groups:gpt:Deployments:0:Model"] = "x",
            ["LlmGateway:Groups:empty:Strategy"] = "LowestCost",
        }));

        Assert.Contains("also a model alias", ex.Message);
        Assert.Contains("unknown Provider 'nowhere'", ex.Message);
        Assert.Contains("Groups:empty: at least one deployment", ex.Message);
    }

    [Fact]
    public async Task GroupsCanBeConfiguredInCode()
    {
        var hook = new RecordingHook();
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway()
            .AddGroup(
                "coded",
                LlmRoutingStrategy.LowestCost,
                new LlmDeploymentOptions { Provider = "anthropic", Model = "claude-sonnet-4-5" },
                new LlmDeploymentOptions { Provider = "gemini", Model = "gemini-2.5-flash", Name = "flash" })
            .AddHook(hook));

        using var response = await ChatAsync(fixture.Http, gateway, "coded", "cheapest please");

        Assert.Contains("Hello from gemini", await response.Content.ReadAsStringAsync());
        Assert.Equal("flash", hook.Completed.Single().Deployment!.Name);
    }
}

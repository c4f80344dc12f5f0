using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>A gateway on a real loopback Kestrel, configured against a <see cref="FakeUpstream"/>.</summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayHost(WebApplication app)
    {
        _app = app;
        BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    public string BaseUrl { get; }

    public IServiceProvider Services => _app.Services;

    public static Dictionary<string, string?> ProviderSettings(FakeUpstream upstream) => new()
    {
        ["LlmGateway:UseEnvironmentVariables"] = "false",
        ["LlmGateway:Providers:openai:BaseUrl"] = upstream.BaseUrl + "/openai/v1",
        ["LlmGateway:Providers:openai:ApiKey"] = FakeUpstream.OpenAIKey,
        ["LlmGateway:Providers:anthropic:BaseUrl"] = upstream.BaseUrl + "/anthropic",
        ["LlmGateway:Providers:anthropic:ApiKey"] = FakeUpstream.AnthropicKey,
        ["LlmGateway:Providers:gemini:BaseUrl"] = upstream.BaseUrl + "/gemini",
        ["LlmGateway:Providers:gemini:ApiKey"] = FakeUpstream.GeminiKey,
        ["LlmGateway:Providers:azure:Type"] = "azure",
        ["LlmGateway:Providers:azure:BaseUrl"] = upstream.BaseUrl + "/azure",
        ["LlmGateway:Providers:azure:ApiKey"] = FakeUpstream.AzureKey,
        ["LlmGateway:Providers:azure:ApiVersion"] = "2024-10-21",
        ["LlmGateway:Providers:mistral:BaseUrl"] = upstream.BaseUrl + "/mistral/v1",
        ["LlmGateway:Providers:mistral:ApiKey"] = FakeUpstream.MistralKey,
        ["LlmGateway:Providers:deepseek:BaseUrl"] = upstream.BaseUrl + "/deepseek",
        ["LlmGateway:Providers:deepseek:ApiKey"] = FakeUpstream.DeepSeekKey,
        ["LlmGateway:Models:gpt:Provider"] = "openai",
        ["LlmGateway:Models:gpt:Model"] = "gpt-4o-mini",
        ["LlmGateway:Models:claude:Provider"] = "anthropic",
        ["LlmGateway:Models:claude:Model"] = "claude-sonnet-4-5",
        ["LlmGateway:Models:gem:Provider"] = "gemini",
        ["LlmGateway:Models:gem:Model"] = "gemini-2.5-flash",
        ["LlmGateway:Models:azure-gpt:Provider"] = "azure",
        ["LlmGateway:Models:azure-gpt:Model"] = "my-deployment",
    };

    public static async Task<GatewayHost> StartAsync(
        FakeUpstream upstream,
        Action<WebApplicationBuilder>? configureServices = null,
        Action<WebApplication>? configureApp = null,
        IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateSlimBuilder(TestHosts.Options);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        if (Environment.GetEnvironmentVariable("GATEWAY_TEST_LOGS") == "1") { builder.Logging.AddConsole(); }
        var configuration = ProviderSettings(upstream);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            configuration[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(configuration);
        builder.Services.AddLlmGateway();
        configureServices?.Invoke(builder);
        var app = builder.Build();
        if (configureApp is not null)
        {
            configureApp(app);
        }
        else
        {
            app.MapLlmGateway();
        }

        await app.StartAsync();
        return new GatewayHost(app);
    }

    /// <summary>Stops the gateway gracefully, as a host shutting down does.</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}

/// <summary>A fake upstream and a gateway in front of it, shared by the tests of one class.</summary>
public class GatewayFixture : IAsyncLifetime
{
    public FakeUpstream Upstream { get; private set; } = null!;

    public GatewayHost Gateway { get; private set; } = null!;

    public HttpClient Http { get; } = new();

    public async Task InitializeAsync()
    {
        Upstream = await FakeUpstream.StartAsync();
        Gateway = await GatewayHost.StartAsync(Upstream);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>
/// A fresh fake upstream and gateway per test, configured with model groups, and a way to call it that returns what the
/// caller saw together with the call's context (for routing, attempts and usage assertions).
/// </summary>
public abstract class GroupGatewayTestBase : IAsyncLifetime
{
    protected HttpClient Http { get; } = new();

    protected RecordingHook Hook { get; } = new();

    protected FakeUpstream Upstream { get; private set; } = null!;

    protected GatewayHost Gateway { get; private set; } = null!;

    /// <summary>The configuration of the gateway under test.</summary>
    protected abstract Dictionary<string, string?> Settings { get; }

    protected virtual void ConfigureServices(WebApplicationBuilder builder)
    {
    }

    protected virtual void ConfigureApp(WebApplication app) => app.MapLlmGateway();

    public async Task InitializeAsync()
    {
        Upstream = await FakeUpstream.StartAsync();
        Gateway = await GatewayHost.StartAsync(
            Upstream,
            b =>
            {
                ConfigureServices(b);
                b.Services.AddLlmGateway().AddHook(Hook);
            },
            ConfigureApp,
            Settings);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    /// <summary>Collects <paramref name="instrument"/> of this test's gateway alone (its own meter factory).</summary>
    protected MetricCollector<T> Collect<T>(string instrument)
        where T : struct => new(Gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", instrument);

    /// <summary>Posts a one-message chat to <paramref name="model"/> and waits for the call's completion hook.</summary>
    protected Task<(HttpStatusCode Status, string Body, HttpResponseHeaders Headers, LlmRequestContext Context)> ChatAsync(string model, bool stream = false) =>
        PostChatAsync($$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""");

    /// <summary>Posts <paramref name="body"/> to the chat endpoint and waits for the call's completion hook.</summary>
    protected async Task<(HttpStatusCode Status, string Body, HttpResponseHeaders Headers, LlmRequestContext Context)> PostChatAsync(string body, string? key = null)
    {
        var count = Hook.Completed.Count;
        using var request = new HttpRequestMessage(HttpMethod.Post, Gateway.BaseUrl + "/v1/chat/completions")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var received = new MemoryStream();
        try
        {
            await (await response.Content.ReadAsStreamAsync()).CopyToAsync(received);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            // A broken stream ends abortively; what arrived before still counts.
        }

        await Hook.Changes.UntilAsync(() => Hook.Completed.Count > count, "The call never completed.");

        return (response.StatusCode, Encoding.UTF8.GetString(received.ToArray()), response.Headers, Hook.Completed.Last());
    }
}

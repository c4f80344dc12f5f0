using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LlmMiddleware.FunctionalTests.Caching;

/// <summary>
/// What every shared cache store owes gateway instances, run against each store (PostgreSQL, Redis): an exact entry
/// one instance wrote is a hit on another; a semantic entry reaches a running instance through the store's
/// announcements and is loaded by an instance started later.
/// </summary>
public abstract class SharedCacheContract : IAsyncLifetime
{
    protected HttpClient Http { get; } = new();

    protected FakeUpstream Upstream { get; private set; } = null!;

    public virtual async Task InitializeAsync() => Upstream = await FakeUpstream.StartAsync();

    public virtual async Task DisposeAsync()
    {
        Http.Dispose();
        await Upstream.DisposeAsync();
    }

    /// <summary>Adds the store under test to the gateway.</summary>
    protected abstract void AddStore(ILlmGatewayBuilder gateway);

    /// <summary>Counts, from now on, the entries <paramref name="gateway"/> writes to the store (off the request path)
    /// or takes in from it: <c>llm_gateway.cache.store.writes</c>, <c>llm_gateway.cache.semantic.received</c>.</summary>
    protected static MetricCollector<long> Collect(GatewayHost gateway, string instrument) =>
        new(gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", instrument);

    /// <summary>Waits until <paramref name="writes"/> counted <paramref name="count"/> entries of <paramref name="kind"/> stored.</summary>
    protected static Task StoredAsync(MetricCollector<long> writes, string kind, int count = 1) =>
        writes.SumAsync(count, m => (string?)m.Tags["llm_gateway.cache.kind"] == kind && (string?)m.Tags["outcome"] == "stored");

    protected Task<GatewayHost> StartAsync() => GatewayHost.StartAsync(
        Upstream,
        b => AddStore(b.Services.AddLlmGateway()),
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

    /// <summary>Asks <paramref name="gateway"/>'s semantic endpoint a question whatever the answer; its cache outcome.</summary>
    private async Task<string> ProbeAsync(GatewayHost gateway, string text)
    {
        using var response = await AskAsync(gateway, text, "/semantic");
        return response.Headers.TryGetValues("x-llm-cache", out var outcome) ? outcome.Single() : "";
    }

    /// <summary>Asks <paramref name="gateway"/> a question; the call must succeed whatever the store does.</summary>
    protected async Task<string> CacheOutcomeAsync(GatewayHost gateway, string text, string prefix = "")
    {
        using var response = await AskAsync(gateway, text, prefix);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Hello from openai", body);
        return response.Headers.GetValues("x-llm-cache").Single();
    }

    private async Task<HttpResponseMessage> AskAsync(GatewayHost gateway, string text, string prefix)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + prefix + "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"gpt","messages":[{"role":"user","content":"{{text}}"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "shared-tenant");
        return await Http.SendAsync(request);
    }

    [Fact]
    public async Task AnExactEntryWrittenByOneInstanceIsAHitOnTheOther()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        using var written = Collect(a, "llm_gateway.cache.store.writes");

        // B serves once first: a cold instance's very first look-up sometimes misses an entry already in the store
        // (about one run in four before this warm-up; HybridCache loads its tag state lazily), and this test is about
        // sharing between running instances.
        Assert.Equal("miss", await CacheOutcomeAsync(b, "Warm-up question"));
        Assert.Equal("miss", await CacheOutcomeAsync(a, "Shared exact question"));
        await StoredAsync(written, "exact");

        Assert.Equal("hit-exact", await CacheOutcomeAsync(b, "Shared exact question"));
        Assert.Equal(2, Upstream.Calls.Count);
    }

    /// <summary>The store's announcement itself, at the store: once an instance's watch has delivered anything, every
    /// later addition by another instance reaches it (not only through a reload).</summary>
    [Fact]
    public async Task AnEntryOneInstanceAddsIsAnnouncedToAnotherInstancesWatch()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        var writer = a.Services.GetRequiredService<ILlmSemanticCacheStore>();
        using var hang = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // a hang guard, not a timing claim
        await using var watch = b.Services.GetRequiredService<ILlmSemanticCacheStore>().WatchAsync(hang.Token).GetAsyncEnumerator(hang.Token);
        static LlmSemanticCacheRecord Record() => new(Guid.CreateVersion7(), "partition", [1f, 0f], [1, 2, 3], DateTimeOffset.UtcNow.AddHours(1));
        var (first, second) = (Record(), Record());

        var started = watch.MoveNextAsync().AsTask();
        await writer.AddAsync(first, hang.Token);
        Assert.True(await started);
        while (watch.Current.Id != first.Id)
        {
            Assert.True(await watch.MoveNextAsync());
        }

        // Delivery is at least once (an entry added while the watch starts may come by reload and by announcement).
        await writer.AddAsync(second, hang.Token);
        do
        {
            Assert.True(await watch.MoveNextAsync());
        }
        while (watch.Current.Id == first.Id);

        Assert.Equal(second.Id, watch.Current.Id);
    }

    [Fact]
    public async Task ASemanticEntryReachesARunningInstanceAndALaterInstanceLoadsIt()
    {
        await using var a = await StartAsync();
        await using var b = await StartAsync();
        using var written = Collect(a, "llm_gateway.cache.store.writes");
        using var received = Collect(b, "llm_gateway.cache.semantic.received");

        Assert.Equal("miss", await CacheOutcomeAsync(a, "How many moons does Jupiter have?", "/semantic"));
        await StoredAsync(written, "semantic");

        // Instance B learns of it through the store's announcement (it was running already).
        await received.SumAsync(1);
        Assert.Equal("hit-semantic", await CacheOutcomeAsync(b, "how many moons does Jupiter have?", "/semantic"));

        // A third instance started later loads the stored entry as it starts, or just after. A question that comes
        // first misses, and fails at the provider so that the instance stores no answer of its own; asked again
        // (worded apart) once it has loaded, it hits.
        await using var c = await StartAsync();
        using var loaded = Collect(c, "llm_gateway.cache.semantic.received");
        Upstream.Enqueue(new FakeFault { Status = 500, Body = """{"error":{"message":"not now","type":"server_error"}}""" });
        if (await ProbeAsync(c, "How many moons does Jupiter have!") != "hit-semantic")
        {
            await loaded.SumAsync(1);
            Assert.Equal("hit-semantic", await CacheOutcomeAsync(c, "How many moons does Jupiter have!!", "/semantic"));
        }
    }
}

using System.Runtime.CompilerServices;
using LlmMiddleware.Caching;
using LlmMiddleware.Caching.Semantic;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace LlmMiddleware.Tests.Caching;

/// <summary>An instance loading a shared store's entries, through a host's own <see cref="ILlmSemanticCacheStore"/>.</summary>
public sealed class SemanticStoreWatchTests
{
    /// <summary>A record this instance cannot read (another version's, or damaged) is skipped: before, it failed the
    /// watch, which reloaded and failed on it again, so no later entry ever arrived.</summary>
    [Fact]
    public async Task AnUnreadableRecordIsSkippedAndTheEntriesAfterItLoad()
    {
        var entry = Entry(new LlmResponse { Id = "r1", Model = "m" });
        var expires = DateTimeOffset.UtcNow.AddHours(1);
        var store = new HostStore(
            new LlmSemanticCacheRecord(Guid.NewGuid(), "p", [1f, 0f], [1, 2, 3], expires),
            new LlmSemanticCacheRecord(Guid.NewGuid(), "p", [1f, 0f], LlmCacheEntrySerializer.Instance.ToBytes(entry), expires));
        await using var provider = Gateway(services => services.AddSingleton<ILlmSemanticCacheStore>(store));
        var cache = provider.GetRequiredService<LlmSemanticCache>();
        await ((IHostedService)cache).StartAsync(default);
        try
        {
            await store.Drained.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the unreadable record did not stall the watch
            Assert.Equal("r1", cache.Find("p", [1f, 0f], 0.9)!.Response.Id);
        }
        finally
        {
            await ((IHostedService)cache).StopAsync(default);
        }
    }

    /// <summary>Partitions emptied by eviction are dropped: callers varying their system prompts (each a partition) cannot
    /// grow the cache's memory past its entry bound.</summary>
    [Fact]
    public async Task EvictionDropsEmptiedPartitions()
    {
        await using var provider = Gateway(settings: ("LlmGateway:Cache:Semantic:MaxEntries", "3"));
        var cache = provider.GetRequiredService<LlmSemanticCache>();
        var entry = Entry(new LlmResponse { Id = "r" });

        for (var i = 0; i < 1000; i++)
        {
            cache.Add("system-prompt-" + i, [1f, 0f], entry, DateTimeOffset.UtcNow.AddHours(1));
        }

        Assert.Equal(3, cache.PartitionCount);
        Assert.NotNull(cache.Find("system-prompt-999", [1f, 0f], 0.9));
        Assert.Null(cache.Find("system-prompt-0", [1f, 0f], 0.9));
    }

    /// <summary>The entry bound counts memory too: a few large answers evict older ones before the count is reached.</summary>
    [Fact]
    public async Task LargeAnswersAreBoundedByBytes()
    {
        await using var provider = Gateway(settings: ("LlmGateway:Cache:Semantic:MaxBytes", "8192"));
        var cache = provider.GetRequiredService<LlmSemanticCache>();
        var response = new LlmResponse { Id = "big" };
        response.Content.Add(new LlmTextPart(new string('x', 1500))); // ~3.5 KB each as held
        var entry = Entry(response);

        for (var i = 0; i < 50; i++)
        {
            cache.Add("prompt-" + i, [1f, 0f], entry, DateTimeOffset.UtcNow.AddHours(1));
        }

        Assert.Equal(2, cache.PartitionCount);
        Assert.NotNull(cache.Find("prompt-49", [1f, 0f], 0.9));
    }

    /// <summary>Most partitions (one per system prompt and tenant) hold one entry: each reserves room for what it holds,
    /// not for sixteen (with 384-dimension vectors, 24 KB each: 2.9 GB after 100,000 soak calls instead of 0.5 GB).</summary>
    [Fact]
    public async Task APartitionReservesRoomForWhatItHolds()
    {
        await using var provider = Gateway();
        var cache = provider.GetRequiredService<LlmSemanticCache>();
        var entry = Entry(new LlmResponse { Id = "r" });
        var vector = new float[384];
        vector[0] = 1;
        cache.Add("warm-up", vector, entry, DateTimeOffset.UtcNow.AddHours(1));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            cache.Add("prompt-" + i, vector, entry, DateTimeOffset.UtcNow.AddHours(1));
        }

        var perPartition = (GC.GetAllocatedBytesForCurrentThread() - before) / 100;
        Assert.True(perPartition < 4 * 1024, $"{perPartition} bytes per one-entry partition");
    }

    /// <summary>The gateway's services, as a host registers them, with <paramref name="settings"/> in configuration.</summary>
    private static ServiceProvider Gateway(Action<IServiceCollection>? configure = null, params (string Key, string Value)[] settings)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());
        services.AddLogging();
        services.AddLlmGateway();
        configure?.Invoke(services);
        return services.BuildServiceProvider();
    }

    private static LlmCacheEntry Entry(LlmResponse response) => new() { Response = response, Provider = "openai", Model = "gpt-4o-mini", CreatedAt = DateTimeOffset.UtcNow };

    /// <summary>A host's store holding two records and announcing nothing more.</summary>
    private sealed class HostStore(params LlmSemanticCacheRecord[] records) : ILlmSemanticCacheStore
    {
        /// <summary>Completed when the watch asks for more than the records: it has taken in every one of them.</summary>
        public TaskCompletionSource Drained { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask AddAsync(LlmSemanticCacheRecord record, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async IAsyncEnumerable<LlmSemanticCacheRecord> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            foreach (var record in records)
            {
                yield return record;
            }

            Drained.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }
}

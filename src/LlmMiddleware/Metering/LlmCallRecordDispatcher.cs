using LlmMiddleware.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Metering;

/// <summary>
/// Hands call records to the registered <see cref="ILlmCallRecordSink"/>s off the request path, each sink through its
/// own <see cref="SinkFeed"/>, so one failing sink never holds the others back. Stopping the host drains every feed
/// before the sinks are released, so a graceful stop loses nothing that a sink can store.
/// </summary>
internal sealed class LlmCallRecordDispatcher : BackgroundService, IHostedLifecycleService
{
    private readonly SinkFeed[] _feeds;
    private readonly CancellationTokenSource _abandon = new();

    public LlmCallRecordDispatcher(IEnumerable<ILlmCallRecordSink> sinks, IOptions<LlmGatewayOptions> options, TimeProvider timeProvider, LlmUsageMetrics metrics, ILogger<LlmCallRecordDispatcher> logger) =>
        _feeds = [.. sinks.Select(sink => new SinkFeed(sink, options.Value.Metering, timeProvider, metrics, logger, _abandon.Token))];

    /// <summary>Queues a record for every sink; never blocks. Without sinks it does nothing.</summary>
    public void Enqueue(LlmCallRecord record)
    {
        foreach (var feed in _feeds)
        {
            feed.Enqueue(record);
        }
    }

    // The feeds stay open while the server drains its in-flight calls (the web server stops after this service), and
    // are closed and drained once every hosted service has stopped.
    public override Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        Array.ForEach(_feeds, feed => feed.Complete());
        using var giveUp = cancellationToken.Register(_abandon.Cancel);
        if (ExecuteTask is { } running)
        {
            await running.ConfigureAwait(false);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Dispose()
    {
        // A host disposed without being stopped: end the loops rather than leave them waiting.
        Array.ForEach(_feeds, feed => feed.Complete());
        _abandon.Cancel();
        base.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(_feeds.Select(feed => feed.RunAsync()));
}

using System.Threading.Channels;
using LlmMiddleware.Telemetry;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Metering;

/// <summary>
/// Hands call records to the registered <see cref="ILlmCallRecordSink"/>s off the request path: records queue in memory
/// and are written in batches of up to <see cref="LlmMeteringOptions.BatchSize"/>, at the latest
/// <see cref="LlmMeteringOptions.FlushInterval"/> after the first of them was queued. A failing sink is retried with
/// backoff, the same batch again. Stopping the host drains the queue before the sinks are released, so a graceful stop
/// loses nothing; an abrupt kill loses at most the records of the last flush interval.
/// </summary>
internal sealed partial class LlmCallRecordDispatcher : BackgroundService, IHostedLifecycleService
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    private readonly Channel<LlmCallRecord> _queue = Channel.CreateUnbounded<LlmCallRecord>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = false });
    private readonly ILlmCallRecordSink[] _sinks;
    private readonly LlmMeteringOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly LlmUsageMetrics _metrics;
    private readonly ILogger<LlmCallRecordDispatcher> _logger;
    private readonly CancellationTokenSource _abandon = new();
    private int _pending;

    public LlmCallRecordDispatcher(IEnumerable<ILlmCallRecordSink> sinks, IOptions<LlmGatewayOptions> options, TimeProvider timeProvider, LlmUsageMetrics metrics, ILogger<LlmCallRecordDispatcher> logger)
    {
        _sinks = [.. sinks];
        _options = options.Value.Metering;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>Queues a record for the sinks; never blocks. Without sinks it does nothing.</summary>
    public void Enqueue(LlmCallRecord record)
    {
        if (_sinks.Length == 0)
        {
            return;
        }

        if (Interlocked.Increment(ref _pending) > _options.MaxPendingRecords && _queue.Reader.TryRead(out var dropped))
        {
            Interlocked.Decrement(ref _pending);
            _metrics.RecordDroppedRecords(1);
            Log.RecordDropped(_logger, dropped.Id, dropped.RequestId);
        }

        if (!_queue.Writer.TryWrite(record))
        {
            // The host is stopping and the queue has been drained: a call that ends this late is logged, not lost silently.
            Interlocked.Decrement(ref _pending);
            _metrics.RecordDroppedRecords(1);
            Log.RecordDropped(_logger, record.Id, record.RequestId);
        }
    }

    // The queue stays open while the server drains its in-flight calls (the web server stops after this service), and
    // is closed and drained once every hosted service has stopped.
    public override Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
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
        // A host disposed without being stopped: end the loop rather than leave it waiting.
        _queue.Writer.TryComplete();
        _abandon.Cancel();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_sinks.Length == 0)
        {
            return;
        }

        var batch = new List<LlmCallRecord>(_options.BatchSize);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            using (var window = new CancellationTokenSource(_options.FlushInterval, _timeProvider))
            {
                try
                {
                    while (batch.Count < _options.BatchSize)
                    {
                        if (reader.TryRead(out var record))
                        {
                            batch.Add(record);
                        }
                        else if (reader.Completion.IsCompleted || !await reader.WaitToReadAsync(window.Token).ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                }
                catch (OperationCanceledException) when (window.IsCancellationRequested)
                {
                    // The flush interval is up: write what has come.
                }
            }

            await WriteAsync(batch).ConfigureAwait(false);
            Interlocked.Add(ref _pending, -batch.Count);
            batch.Clear();
        }
    }

    private async Task WriteAsync(List<LlmCallRecord> batch)
    {
        foreach (var sink in _sinks)
        {
            var delay = TimeSpan.FromMilliseconds(250);
            while (true)
            {
                try
                {
                    await sink.WriteAsync(batch, _abandon.Token).ConfigureAwait(false);
                    break;
                }
                catch (Exception ex) when (!_abandon.IsCancellationRequested)
                {
                    Log.SinkFailed(_logger, sink.GetType().Name, batch.Count, delay.TotalSeconds, ex);
                    try
                    {
                        await Task.Delay(delay, _timeProvider, _abandon.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        // Shutdown ran out of time: falls through to the loss report below.
                    }

                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
                }
                catch (Exception ex)
                {
                    _metrics.RecordDroppedRecords(batch.Count);
                    Log.SinkAbandoned(_logger, sink.GetType().Name, batch.Count, ex);
                    break;
                }
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "Call-record sink {Sink} failed to write {Count} records; retrying in {DelaySeconds} s.", EventName = "SinkFailed")]
        public static partial void SinkFailed(ILogger logger, string sink, int count, double delaySeconds, Exception exception);

        [LoggerMessage(2, LogLevel.Error, "Call-record sink {Sink} could not write {Count} records before shutdown ran out of time; they are lost to it.", EventName = "SinkAbandoned")]
        public static partial void SinkAbandoned(ILogger logger, string sink, int count, Exception exception);

        [LoggerMessage(3, LogLevel.Error, "Call record {RecordId} of request {RequestId} was dropped: the sinks are too far behind (MaxPendingRecords) or the host has stopped.", EventName = "RecordDropped")]
        public static partial void RecordDropped(ILogger logger, Guid recordId, string requestId);
    }
}

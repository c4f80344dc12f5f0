using System.Text.Json;
using System.Threading.Channels;
using LlmMiddleware.Telemetry;
using Microsoft.Extensions.Logging;

namespace LlmMiddleware.Metering;

/// <summary>
/// One sink's queue and writer loop: records queue in memory and are written in batches of up to
/// <see cref="LlmMeteringOptions.BatchSize"/>, at the latest <see cref="LlmMeteringOptions.FlushInterval"/> after the
/// first of them was queued. A failing write is retried with backoff, the same batch again; a batch the sink rejects
/// (<see cref="LlmCallRecordRejectedException"/>) is halved until the records it can never store are found, and only
/// those are quarantined.
/// </summary>
internal sealed partial class SinkFeed(ILlmCallRecordSink sink, LlmMeteringOptions options, TimeProvider timeProvider, LlmUsageMetrics metrics, ILogger logger, CancellationToken abandon)
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    // Once the host stops, a sink that was down is retried at once and then every StoppingRetryDelay, so records are
    // not lost to the shutdown timeout while a long backoff runs out.
    private static readonly TimeSpan StoppingRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly CancellationTokenSource _stopping = new();
    private readonly Channel<LlmCallRecord> _queue = Channel.CreateUnbounded<LlmCallRecord>(new UnboundedChannelOptions { SingleReader = true });
    private readonly string _name = sink.GetType().Name;
    private int _pending;

    public void Enqueue(LlmCallRecord record)
    {
        if (Interlocked.Increment(ref _pending) > options.MaxPendingRecords && _queue.Reader.TryRead(out var dropped))
        {
            Interlocked.Decrement(ref _pending);
            Drop(dropped, "queue_full");
        }

        if (!_queue.Writer.TryWrite(record))
        {
            // The host is stopping and the queue has been drained: a call that ends this late is logged, not lost silently.
            Interlocked.Decrement(ref _pending);
            Drop(record, "stopped");
        }
    }

    public void Complete()
    {
        _queue.Writer.TryComplete();
        _stopping.Cancel();
    }

    public async Task RunAsync()
    {
        var batch = new List<LlmCallRecord>(options.BatchSize);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
        {
            using (var window = new CancellationTokenSource(options.FlushInterval, timeProvider))
            {
                try
                {
                    while (batch.Count < options.BatchSize)
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
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                await WriteIsolatingRejectsAsync(batch).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (!abandon.IsCancellationRequested)
            {
                var stopping = _stopping.IsCancellationRequested;
                var wait = stopping ? StoppingRetryDelay : delay;
                Log.SinkFailed(logger, _name, batch.Count, wait.TotalSeconds, ex);
                using (var cut = CancellationTokenSource.CreateLinkedTokenSource(abandon, stopping ? default : _stopping.Token))
                {
                    try
                    {
                        await Task.Delay(wait, timeProvider, cut.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        // The host is stopping (retry now) or shutdown ran out of time (the next attempt reports the loss).
                    }
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
            }
            catch (Exception ex)
            {
                metrics.RecordDroppedRecords(batch.Count, "abandoned");
                Log.SinkAbandoned(logger, _name, batch.Count, ex);
                return;
            }
        }
    }

    /// <summary>Writes <paramref name="records"/>; a rejected part is halved until each record the sink refuses stands
    /// alone, and quarantined. Other failures propagate, to be retried whole.</summary>
    private async Task WriteIsolatingRejectsAsync(IReadOnlyList<LlmCallRecord> records)
    {
        try
        {
            await sink.WriteAsync(records, abandon).ConfigureAwait(false);
            metrics.RecordWrittenRecords(records.Count, _name);
        }
        catch (LlmCallRecordRejectedException ex) when (records.Count == 1)
        {
            Drop(records[0], "rejected", ex);
        }
        catch (LlmCallRecordRejectedException)
        {
            var half = records.Count / 2;
            await WriteIsolatingRejectsAsync([.. records.Take(half)]).ConfigureAwait(false);
            await WriteIsolatingRejectsAsync([.. records.Skip(half)]).ConfigureAwait(false);
        }
    }

    private void Drop(LlmCallRecord record, string reason, Exception? exception = null)
    {
        metrics.RecordDroppedRecords(1, reason);
        // Logged in full, so a dropped record can be recovered by hand.
        Log.RecordDropped(logger, record.Id, record.RequestId, _name, reason, JsonSerializer.Serialize(record), exception);
    }

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "Call-record sink {Sink} failed to write {Count} records; retrying in {DelaySeconds} s.", EventName = "SinkFailed")]
        public static partial void SinkFailed(ILogger logger, string sink, int count, double delaySeconds, Exception exception);

        [LoggerMessage(21, LogLevel.Error, "Call-record sink {Sink} could not write {Count} records before shutdown ran out of time; they are lost to it.", EventName = "SinkAbandoned")]
        public static partial void SinkAbandoned(ILogger logger, string sink, int count, Exception exception);

        [LoggerMessage(22, LogLevel.Error, "Call record {RecordId} of request {RequestId} was not written to {Sink} ({Reason}: queue_full = the sink is too far behind, MaxPendingRecords; stopped = the host had stopped; rejected = the sink can never store it). Record: {Record}", EventName = "RecordDropped")]
        public static partial void RecordDropped(ILogger logger, Guid recordId, string requestId, string sink, string reason, string record, Exception? exception);
    }
}

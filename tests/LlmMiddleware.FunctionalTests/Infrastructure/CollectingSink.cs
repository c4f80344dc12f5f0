using System.Collections.Concurrent;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>A call-record sink that keeps what it receives, as a host's billing export would.</summary>
public sealed class CollectingSink : ILlmCallRecordSink
{
    public ConcurrentQueue<LlmCallRecord> Records { get; } = new();

    public ValueTask WriteAsync(IReadOnlyList<LlmCallRecord> records, CancellationToken cancellationToken)
    {
        foreach (var record in records)
        {
            Records.Enqueue(record);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Waits until a record matching <paramref name="match"/> has arrived.</summary>
    public async Task<LlmCallRecord> WaitForAsync(Func<LlmCallRecord, bool> match)
    {
        for (var i = 0; i < 1500; i++)
        {
            if (Records.FirstOrDefault(match) is { } record)
            {
                return record;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException("No matching call record arrived. Records: " + string.Join("; ", Records));
    }
}

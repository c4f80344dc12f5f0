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

        Changes.Notify();

        return ValueTask.CompletedTask;
    }

    /// <summary>Raised as records arrive.</summary>
    public Changes Changes { get; } = new();

    /// <summary>Waits until a record matching <paramref name="match"/> has arrived.</summary>
    public async Task<LlmCallRecord> WaitForAsync(Func<LlmCallRecord, bool> match)
    {
        await Changes.UntilAsync(() => Records.Any(match), "No matching call record arrived.");
        return Records.First(match);
    }

    /// <summary>Waits until <paramref name="count"/> records matching <paramref name="match"/> have arrived.</summary>
    public Task WaitForAsync(Func<LlmCallRecord, bool> match, int count) =>
        Changes.UntilAsync(() => Records.Count(match) >= count, $"Fewer than {count} matching call records arrived.");
}

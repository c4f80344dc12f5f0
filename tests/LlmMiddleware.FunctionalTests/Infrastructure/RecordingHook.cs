using System.Collections.Concurrent;

namespace LlmMiddleware.FunctionalTests.Infrastructure;

/// <summary>Keeps the context of every completed call, for assertions on routing, usage and timings.</summary>
public sealed class RecordingHook : LlmGatewayHook
{
    public ConcurrentQueue<LlmRequestContext> Completed { get; } = new();

    public override ValueTask OnCompletedAsync(LlmRequestContext context, CancellationToken cancellationToken)
    {
        Completed.Enqueue(context);
        Changes.Notify();
        return ValueTask.CompletedTask;
    }

    /// <summary>Raised as calls complete.</summary>
    public Changes Changes { get; } = new();
}

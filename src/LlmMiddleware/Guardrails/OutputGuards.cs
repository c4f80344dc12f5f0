using LlmMiddleware.Protocols;

namespace LlmMiddleware.Guardrails;

/// <summary>The host's output guards, in registration order; <see cref="Active"/> is <see langword="null"/> when there are
/// none, so an unguarded call pays one null check.</summary>
internal sealed class OutputGuards(IEnumerable<LlmOutputGuard> guards)
{
    public LlmOutputGuard[]? Active { get; } = guards.ToArray() is { Length: > 0 } all ? all : null;

    /// <summary>Runs every guard over a complete answer, before the caller or the cache sees it.</summary>
    public static async ValueTask ApplyAsync(LlmOutputGuard[] guards, LlmRequestContext context, LlmResponse response, CancellationToken cancellationToken)
    {
        foreach (var guard in guards)
        {
            await guard.OnResponseAsync(context, response, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The stream's guarded sink, or <see langword="null"/> when no guard wants this stream.</summary>
    public static GuardedStream? Wrap(LlmOutputGuard[] guards, LlmRequestContext context, ILlmStreamSink inner) =>
        guards.Select(g => g.OnStream(context)).OfType<LlmStreamGuard>().ToArray() is { Length: > 0 } streamGuards ? new GuardedStream(streamGuards, inner) : null;
}

using LlmMiddleware.Protocols;
using LlmMiddleware.Providers;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Upstream;

/// <summary>Where a call goes: a provider and upstream model, and the group deployment when the model is a group.</summary>
internal readonly record struct LlmRoute(LlmProviderEndpoint Provider, string Model, LlmDeployment? Deployment = null);

/// <summary>What an embeddings call embeds: its body is written per route from these, and answered in OpenAI's shape.</summary>
internal sealed record EmbeddingsInput(List<string> Inputs, int? Dimensions, bool Base64);

/// <summary>
/// A call ready to send: the caller's body, the current target (provider, upstream model, upstream body, what the
/// response translation must undo) and, for model groups, the other deployments to fall back to.
/// </summary>
internal sealed class PreparedCall(PooledBufferWriter callerBody, LlmRoute route, List<LlmDeployment>? candidates) : IDisposable
{
    private readonly PooledBufferWriter _upstreamBody = new(callerBody.WrittenCount + 256);

    /// <summary>The current target: the resolved route until <see cref="Retarget"/> moves the call on.</summary>
    public LlmRoute Route { get; private set; } = route;

    public LlmProviderEndpoint Provider => Route.Provider;

    public string Model => Route.Model;

    public ReadOnlyMemory<byte> CallerBody => callerBody.WrittenMemory;

    /// <summary>The provider-protocol body (or the caller's bytes with the model rewritten, in passthrough).</summary>
    public ReadOnlyMemory<byte> UpstreamBody => _upstreamBody.WrittenMemory;

    /// <summary>What the response translation must undo for the current target (new with each <see cref="Retarget"/>).</summary>
    public TranslationState Translation => _translation ??= new();

    private TranslationState? _translation;

    /// <summary>Set for an embeddings call (the same routing, retries and fallbacks as chat; another body and answer).</summary>
    public EmbeddingsInput? Embeddings { get; init; }

    /// <summary>A model group's deployments in the order they are tried; <see langword="null"/> for a single route.</summary>
    public List<LlmDeployment>? Candidates { get; private set; } = candidates;

    /// <summary>Sends the call elsewhere before it is sent at all (an experiment's arm): a new route and candidates.</summary>
    public void Reroute(LlmRoute route, List<LlmDeployment>? candidates) => (Route, Candidates) = (route, candidates);

    /// <summary>Points the call at <paramref name="route"/> and returns the buffer to write its body into.</summary>
    public PooledBufferWriter Retarget(LlmRoute route)
    {
        Route = route;
        _translation = null;
        _upstreamBody.Clear();
        return _upstreamBody;
    }

    public void Dispose()
    {
        _upstreamBody.Dispose();
        callerBody.Dispose();
    }
}

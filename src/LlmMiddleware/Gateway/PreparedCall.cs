using LlmMiddleware.Protocols;
using LlmMiddleware.Providers;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Gateway;

/// <summary>Where a call goes: a provider and upstream model, and the group deployment when the model is a group.</summary>
internal readonly record struct LlmRoute(LlmProviderEndpoint Provider, string Model, LlmDeployment? Deployment = null);

/// <summary>A call ready to send: its provider, upstream model, upstream body and what the response translation must undo.</summary>
internal sealed class PreparedCall(LlmProviderEndpoint provider, string model, PooledBufferWriter callerBody, PooledBufferWriter upstreamBody, TranslationState translation) : IDisposable
{
    public LlmProviderEndpoint Provider { get; } = provider;

    public string Model { get; } = model;

    /// <summary>The provider-protocol body (or the caller's bytes with the model rewritten, in passthrough).</summary>
    public ReadOnlyMemory<byte> UpstreamBody => upstreamBody.WrittenMemory;

    public TranslationState Translation { get; } = translation;

    public void Dispose()
    {
        upstreamBody.Dispose();
        callerBody.Dispose();
    }
}

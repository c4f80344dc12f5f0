using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using LlmMiddleware.Upstream;

namespace LlmMiddleware.Yarp;

/// <summary>What an LLM route's request transform hands to its response transform (and to the error middleware).</summary>
internal sealed class LlmYarpCallState(LlmRequestContext context, CallFraming framing)
{
    private bool _completed;

    public LlmRequestContext Context { get; } = context;

    /// <summary>Set once the request is prepared; the response translation undoes what it records.</summary>
    public TranslationState Translation { get; set; } = new();

    /// <summary>The call prepared by the proxy pipeline's LLM step (<c>UseLlmPipeline()</c>), which also frames and ends
    /// it; <see langword="null"/> when the transforms run the call themselves.</summary>
    public PreparedCall? Prepared { get; init; }

    /// <summary>Ends the call (record, span, completion callbacks), once.</summary>
    public async ValueTask CompleteAsync()
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        await framing.CompleteAsync(Context, record: true).ConfigureAwait(false);
    }
}

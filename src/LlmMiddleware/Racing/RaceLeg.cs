using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.Sse;
using LlmMiddleware.Upstream;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Racing;

/// <summary>
/// One deployment's run in a race: its own upstream body and translation, and once it has answered, its response with
/// the stream read up to its first content (so the winner is the first to produce content, not just headers). Losers are
/// disposed by the hedging strategy, which cancels their upstream calls; disposal records them.
/// </summary>
internal sealed class RaceLeg(LlmRoute route, Action<RaceLeg> onLost) : IDisposable
{
    private bool _won;
    private int _disposed;

    public LlmRoute Route { get; } = route;

    public PooledBufferWriter Body { get; } = new();

    public TranslationState Translation { get; } = new();

    public bool Passthrough { get; set; }

    public long Started { get; set; }

    public HttpResponseMessage? Response { get; set; }

    /// <summary>The content read while waiting for the stream's first content: what a cancelled loser had produced.</summary>
    public string PrefetchedContent { get; set; } = "";

    public LlmGatewayException? Failure { get; set; }

    /// <summary>Whether the leg was cancelled because another won.</summary>
    public bool Cancelled { get; set; }

    public bool Failed => Failure is not null || Response is null || (int)Response.StatusCode is < 200 or >= 300;

    /// <summary>Marks the leg as the race's result (or as never launched): its disposal records nothing.</summary>
    public void MarkWon() => _won = true;

    /// <summary>Frees the leg once (the hedging strategy and the race both dispose); a leg that did not win is recorded.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        if (!_won)
        {
            onLost(this);
        }

        Response?.Dispose();
        Body.Dispose();
    }

    /// <summary>Reads the stream up to its first content; see <see cref="StreamPrefetch"/>.</summary>
    public async ValueTask<bool> PrefetchFirstContentAsync(LlmCodec codec, CancellationToken cancellationToken)
    {
        var (sawContent, content) = await StreamPrefetch.UntilFirstContentAsync(Response!, codec, cancellationToken).ConfigureAwait(false);
        PrefetchedContent = content;
        return sawContent;
    }
}

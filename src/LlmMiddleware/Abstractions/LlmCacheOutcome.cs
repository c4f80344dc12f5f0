namespace LlmMiddleware;

/// <summary>How the response cache took part in a call; reported in the <c>x-llm-cache</c> response header.</summary>
public enum LlmCacheOutcome
{
    /// <summary>No cache policy applies to the call (no header).</summary>
    None,

    /// <summary>Looked up and not found: a provider answered, and the answer was stored (<c>miss</c>).</summary>
    Miss,

    /// <summary>Answered from an identical earlier request (<c>hit-exact</c>).</summary>
    HitExact,

    /// <summary>Answered from a similar earlier request (<c>hit-semantic</c>).</summary>
    HitSemantic,

    /// <summary>The caller asked not to be served from the cache (<c>Cache-Control: no-cache</c> or <c>no-store</c>),
    /// or the request cannot be cached (several choices); a provider answered (<c>bypass</c>).</summary>
    Bypass,
}

using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware;

/// <summary>What a rate limit counts calls of: their caller's identity, or the model they ask for.</summary>
public enum LlmRateLimitScope
{
    /// <summary>One virtual key (its id).</summary>
    Key,

    /// <summary>A team: every key it owns, together.</summary>
    Team,

    /// <summary>A user.</summary>
    User,

    /// <summary>An app.</summary>
    App,

    /// <summary>A tag on the key, as <c>name=value</c>.</summary>
    Tag,

    /// <summary>The model the caller names (an alias, a model group or <c>provider/model</c>), whoever calls it.</summary>
    Model,

    /// <summary>A model group, however the call reached it (by name, or through a YARP route bound to the group).</summary>
    Group,
}

/// <summary>
/// Limits on the calls of one scope per fixed minute (windows aligned to the clock's minutes, so every instance agrees)
/// and at once. Tokens are estimated at admission (the prompt as counted, plus <c>max_tokens</c>) and corrected to
/// the metered count when the call ends.
/// </summary>
public sealed class LlmRateLimit
{
    /// <summary>What the limit counts calls of.</summary>
    public LlmRateLimitScope Scope { get; set; } = LlmRateLimitScope.Key;

    /// <summary>The key id, team, user, app, tag (<c>name=value</c>), model or group; <c>*</c> gives each one of the
    /// scope its own limit of this size (a limit naming the subject takes precedence).</summary>
    [Required]
    public string Subject { get; set; } = "";

    /// <summary>Calls admitted per minute.</summary>
    [Range(1, int.MaxValue)]
    public int? RequestsPerMinute { get; set; }

    /// <summary>Tokens (prompt and output) per minute.</summary>
    [Range(1, long.MaxValue)]
    public long? TokensPerMinute { get; set; }

    /// <summary>Calls in flight at once (a stream counts until it ends).</summary>
    [Range(1, int.MaxValue)]
    public int? MaxConcurrentRequests { get; set; }

    internal bool LimitsAnything => RequestsPerMinute is not null || TokensPerMinute is not null || MaxConcurrentRequests is not null;

    /// <summary>A copy (the limit in force is never changed in place).</summary>
    public LlmRateLimit Clone() => new() { Scope = Scope, Subject = Subject, RequestsPerMinute = RequestsPerMinute, TokensPerMinute = TokensPerMinute, MaxConcurrentRequests = MaxConcurrentRequests };
}

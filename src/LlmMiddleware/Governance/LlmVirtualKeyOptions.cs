using System.ComponentModel.DataAnnotations;
using System.Security.Claims;

namespace LlmMiddleware;

/// <summary>Virtual key settings, bound to <c>LlmGateway:VirtualKeys</c>; see <c>AddVirtualKeys()</c>.</summary>
public sealed class LlmVirtualKeyOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "LlmGateway:VirtualKeys";

    /// <summary>Keys defined in configuration, by id. Added to the store at start-up unless it already has that id
    /// (so a key revoked through <see cref="LlmVirtualKeys"/> stays revoked in a persistent store).</summary>
    public Dictionary<string, LlmConfiguredKey> Keys { get; } = new(StringComparer.Ordinal);

    /// <summary>How long a rotated key's old secret keeps working, unless the rotation names its own. Default 24 h.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "365.00:00:00")]
    public TimeSpan RotationGracePeriod { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// For hosts with their own authentication: maps a request's authenticated principal to the key it acts as (its
    /// <see cref="LlmVirtualKey.Id"/>, owner, allowed models, tags). A request with an authenticated principal this
    /// returns a key for needs no virtual key; one it returns <see langword="null"/> for must present a virtual key.
    /// </summary>
    public Func<ClaimsPrincipal, LlmVirtualKey?>? ResolvePrincipal { get; set; }
}

/// <summary>A virtual key defined in configuration (<c>LlmGateway:VirtualKeys:Keys:&lt;id&gt;</c>).</summary>
public sealed class LlmConfiguredKey
{
    /// <summary>The secret itself, for demos and development; prefer <see cref="SecretHash"/>.</summary>
    public string? Secret { get; set; }

    /// <summary>SHA-256 of the secret's UTF-8 bytes, 64 hex digits (<c>printf %s "$KEY" | sha256sum</c>).</summary>
    public string? SecretHash { get; set; }

    /// <summary>See <see cref="LlmVirtualKey.Name"/>.</summary>
    public string? Name { get; set; }

    /// <summary>See <see cref="LlmVirtualKey.Team"/>.</summary>
    public string? Team { get; set; }

    /// <summary>See <see cref="LlmVirtualKey.User"/>.</summary>
    public string? User { get; set; }

    /// <summary>See <see cref="LlmVirtualKey.App"/>.</summary>
    public string? App { get; set; }

    /// <summary>See <see cref="LlmVirtualKey.Models"/>.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>See <see cref="LlmVirtualKey.ExpiresAt"/>.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>See <see cref="LlmVirtualKey.Tags"/>.</summary>
    public Dictionary<string, string> Tags { get; set; } = new(StringComparer.Ordinal);
}

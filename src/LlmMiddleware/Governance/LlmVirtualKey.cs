namespace LlmMiddleware;

/// <summary>
/// A virtual key: what the gateway knows of a caller it issued a key to — owner, allowed models, expiry, tags — and
/// never the key itself (only its hash is stored; the secret is shown once, when issued). Its <see cref="Id"/> is the
/// identity metering, the response cache's tenant scope and every limit use.
/// </summary>
public sealed record LlmVirtualKey
{
    /// <summary>The key's id (<c>vk_…</c> when the gateway issues it); never secret.</summary>
    public string Id { get; init; } = "";

    /// <summary>A label for people.</summary>
    public string? Name { get; init; }

    /// <summary>The owning team.</summary>
    public string? Team { get; init; }

    /// <summary>The owning user; when unset, calls are attributed to the user the request names.</summary>
    public string? User { get; init; }

    /// <summary>The owning application.</summary>
    public string? App { get; init; }

    /// <summary>The models, model groups or <c>provider/model</c> names the key may call: exact names, or a prefix
    /// ending in <c>*</c> (<c>openai/*</c>). Empty: every model.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>When the key stops working; <see langword="null"/>: never.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>Tags carried onto every call record (and, later, budgets per tag).</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = EmptyTags;

    /// <summary>Free-form data for the host; not used by the gateway.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = EmptyTags;

    /// <summary>When it was issued.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it was revoked; a revoked key never works again.</summary>
    public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>The start and end of the current secret (<c>sk-llm-AbCd…wXyZ</c>), to recognise it; never enough to use it.</summary>
    public string? Hint { get; init; }

    private static readonly IReadOnlyDictionary<string, string> EmptyTags = new Dictionary<string, string>();
}

/// <summary>A newly issued or rotated key: the only time its <see cref="Secret"/> is available.</summary>
/// <param name="Key">The key as stored.</param>
/// <param name="Secret">The secret to give the caller (<c>sk-llm-…</c>); the gateway keeps only its hash.</param>
public sealed record LlmIssuedKey(LlmVirtualKey Key, string Secret);

/// <summary>A stored hash of one of a key's secrets (more than one while a rotation's grace period runs).</summary>
/// <param name="Hash">SHA-256 of the secret's UTF-8 bytes, lower-case hex.</param>
/// <param name="NotAfter">When this secret stops working (the old secret of a rotation); <see langword="null"/>: with the key.</param>
public sealed record LlmKeySecret(string Hash, DateTimeOffset? NotAfter = null);

/// <summary>A virtual key as a store keeps it: the key and its secrets' hashes.</summary>
/// <param name="Key">The key.</param>
/// <param name="Secrets">Its secrets' hashes.</param>
public sealed record LlmStoredKey(LlmVirtualKey Key, IReadOnlyList<LlmKeySecret> Secrets);

using System.Collections.Frozen;

namespace LlmMiddleware.Governance;

/// <summary>A key as the request path sees it: its state, the identity it gives calls, and its model list made fast.</summary>
internal sealed class VirtualKeyEntry
{
    private readonly FrozenSet<string>? _models;
    private readonly string[] _modelPrefixes;

    public VirtualKeyEntry(LlmVirtualKey key, DateTimeOffset? secretNotAfter = null)
    {
        Key = key;
        NotAfter = secretNotAfter is { } until && (key.ExpiresAt is not { } expires || until < expires) ? until : key.ExpiresAt;
        Identity = new LlmCallerIdentity { Key = key.Id, Team = key.Team, App = key.App, User = key.User, Tags = key.Tags.Count == 0 ? null : key.Tags };
        if (key.Models.Count > 0 && !key.Models.Contains("*"))
        {
            _models = key.Models.Where(m => !m.EndsWith('*')).ToFrozenSet(StringComparer.Ordinal);
            _modelPrefixes = [.. key.Models.Where(m => m.EndsWith('*')).Select(m => m[..^1])];
        }
        else
        {
            _modelPrefixes = [];
        }
    }

    public LlmVirtualKey Key { get; }

    /// <summary>When this secret of the key stops working: the key's expiry or the secret's grace period, whichever is first.</summary>
    public DateTimeOffset? NotAfter { get; }

    /// <summary>The identity of calls made with the key whose request names no user of its own.</summary>
    public LlmCallerIdentity Identity { get; }

    /// <summary>The identity of a call naming <paramref name="requestUser"/>: the key's owner wins over the request.</summary>
    public LlmCallerIdentity IdentityFor(string? requestUser) =>
        requestUser is null || Key.User is not null ? Identity : Identity with { User = requestUser };

    public bool Allows(string model)
    {
        if (_models is null || _models.Contains(model))
        {
            return true;
        }

        foreach (var prefix in _modelPrefixes)
        {
            if (model.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}

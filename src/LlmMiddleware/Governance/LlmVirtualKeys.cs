using LlmMiddleware.Governance;
using Microsoft.Extensions.Options;

namespace LlmMiddleware;

/// <summary>
/// Issues and manages virtual keys (registered by <c>AddVirtualKeys()</c>): create, rotate, revoke, list. Changes
/// reach calls on this instance at once; the store makes them durable.
/// </summary>
public sealed class LlmVirtualKeys
{
    private readonly ILlmVirtualKeyStore _store;
    private readonly VirtualKeyIndex _index;
    private readonly TimeProvider _timeProvider;
    private readonly LlmVirtualKeyOptions _options;
    private readonly SemaphoreSlim _writes = new(1, 1);

    internal LlmVirtualKeys(ILlmVirtualKeyStore store, VirtualKeyIndex index, IOptions<LlmVirtualKeyOptions> options, TimeProvider timeProvider)
    {
        _store = store;
        _index = index;
        _timeProvider = timeProvider;
        _options = options.Value;
    }

    /// <summary>Issues a key like <paramref name="template"/> (its <see cref="LlmVirtualKey.Id"/> is generated when
    /// empty). The returned secret is not kept: hand it to the caller now.</summary>
    public async ValueTask<LlmIssuedKey> CreateAsync(LlmVirtualKey template, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(template);
        var id = string.IsNullOrEmpty(template.Id) ? KeySecrets.NewId() : template.Id;
        if (!VirtualKeyIds.IsValid(id))
        {
            throw new ArgumentException($"Key id '{id}' is not 1-64 letters, digits, '_', '-' or '.'.", nameof(template));
        }

        var secret = KeySecrets.NewSecret();
        var key = template with { Id = id, CreatedAt = _timeProvider.GetUtcNow(), RevokedAt = null, Hint = KeySecrets.Hint(secret) };
        await WriteAsync(id, existing => existing is null ? new LlmStoredKey(key, [Hashed(secret)]) : throw new InvalidOperationException($"Key '{id}' exists."), cancellationToken).ConfigureAwait(false);
        return new LlmIssuedKey(key, secret);
    }

    /// <summary>Gives key <paramref name="id"/> a new secret; its current secrets keep working for
    /// <paramref name="gracePeriod"/> (default <see cref="LlmVirtualKeyOptions.RotationGracePeriod"/>), then stop.</summary>
    public async ValueTask<LlmIssuedKey> RotateAsync(string id, TimeSpan? gracePeriod = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gracePeriod ?? TimeSpan.Zero, TimeSpan.Zero, nameof(gracePeriod));
        var secret = KeySecrets.NewSecret();
        var now = _timeProvider.GetUtcNow();
        var until = now + (gracePeriod ?? _options.RotationGracePeriod);
        var rotated = await WriteAsync(id, existing => existing is null || existing.Key.RevokedAt is not null ? throw new KeyNotFoundException($"No active key '{id}'.")
            : new LlmStoredKey(
                existing.Key with { Hint = KeySecrets.Hint(secret) },
                [Hashed(secret), .. existing.Secrets.Where(s => !(s.NotAfter <= now)).Select(s => s.NotAfter <= until ? s : s with { NotAfter = until })]), cancellationToken).ConfigureAwait(false);
        return new LlmIssuedKey(rotated.Key, secret);
    }

    /// <summary>Revokes key <paramref name="id"/>: every secret of it stops working. <see langword="false"/> when there is no such key.</summary>
    public async ValueTask<bool> RevokeAsync(string id, CancellationToken cancellationToken = default)
    {
        var now = _timeProvider.GetUtcNow();
        try
        {
            await WriteAsync(id, existing => existing is null ? throw new KeyNotFoundException() : existing with { Key = existing.Key with { RevokedAt = existing.Key.RevokedAt ?? now } }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (KeyNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Key <paramref name="id"/>, revoked or not; <see langword="null"/> when there is none.</summary>
    public LlmVirtualKey? Find(string id) => _index.Find(id)?.Key;

    /// <summary>Every key, revoked ones included, by id.</summary>
    public IReadOnlyList<LlmVirtualKey> List() => [.. _index.All.Select(k => k.Key).OrderBy(k => k.Id, StringComparer.Ordinal)];

    private static LlmKeySecret Hashed(string secret) => KeyHash.TryOf(secret, out var hash) ? new(hash.ToString()) : throw new InvalidOperationException();

    /// <summary>One change at a time: read, change, store, then make it what calls see.</summary>
    private async ValueTask<LlmStoredKey> WriteAsync(string id, Func<LlmStoredKey?, LlmStoredKey> change, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        await _writes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var changed = change(_index.Find(id));
            await _store.SaveAsync(changed, cancellationToken).ConfigureAwait(false);
            _index.Put(changed);
            return changed;
        }
        finally
        {
            _writes.Release();
        }
    }
}

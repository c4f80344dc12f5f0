using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using LlmMiddleware.Identity;
using LlmMiddleware.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Governance;

/// <summary>
/// Every key's secrets by hash, in memory: loaded from the store at start-up (configured keys added first), updated
/// by <see cref="LlmVirtualKeys"/> as keys change here and by the store's change feed as they change on other
/// instances. Answers "who is this caller" without touching the store.
/// </summary>
internal sealed class VirtualKeyIndex(ILlmVirtualKeyStore store, IOptions<LlmVirtualKeyOptions> options, TimeProvider timeProvider, IMeterFactory meters, ILogger<VirtualKeyIndex> logger) : IHostedService
{
    private readonly ConcurrentDictionary<KeyHash, VirtualKeyEntry> _bySecret = new();
    private readonly ConcurrentDictionary<string, LlmStoredKey> _byId = new(StringComparer.Ordinal);
    private readonly LlmVirtualKeyOptions _options = options.Value;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Counter<long> _received = meters.Create(LlmGatewayTelemetry.Name).CreateCounter<long>("llm_gateway.keys.received", "{key}", "Virtual keys taken in from the key store's change feed after start-up: saved on other instances (or on this one, as the store confirms).");
    private Task _following = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // The first batch is every stored key: calls are not served before it is in.
        var feed = await StoreFeed.FirstAsync(store.WatchAsync, PutAll, _stopping.Token).ConfigureAwait(false);
        foreach (var (id, configured) in _options.Keys)
        {
            if (!_byId.ContainsKey(id))
            {
                var key = FromConfiguration(id, configured);
                await store.SaveAsync(key, cancellationToken).ConfigureAwait(false);
                Put(key);
            }
        }

        _following = StoreFeed.FollowAsync(feed, store.WatchAsync, Received, "virtual key store", timeProvider, logger, _stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _following.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Received(IReadOnlyList<LlmStoredKey> keys)
    {
        PutAll(keys);
        _received.Add(keys.Count);
    }

    private void PutAll(IReadOnlyList<LlmStoredKey> keys)
    {
        foreach (var key in keys)
        {
            Put(key);
        }
    }

    public LlmStoredKey? Find(string id) => _byId.GetValueOrDefault(id);

    public IEnumerable<LlmStoredKey> All => _byId.Values;

    /// <summary>Makes <paramref name="key"/> what calls see: its current secrets in, secrets it no longer has out.</summary>
    public void Put(LlmStoredKey key)
    {
        // New secrets first, then the ones dropped: a secret kept across the change never stops working meanwhile.
        var current = new HashSet<KeyHash>();
        foreach (var secret in key.Secrets)
        {
            if (KeyHash.TryParse(secret.Hash, out var hash))
            {
                _bySecret[hash] = new VirtualKeyEntry(key.Key, secret.NotAfter);
                current.Add(hash);
            }
        }

        if (_byId.TryGetValue(key.Key.Id, out var previous))
        {
            foreach (var secret in previous.Secrets)
            {
                if (KeyHash.TryParse(secret.Hash, out var hash) && !current.Contains(hash))
                {
                    _bySecret.TryRemove(hash, out _);
                }
            }
        }

        _byId[key.Key.Id] = key;
    }

    /// <summary>The key a request acts as — its host-authenticated principal's, else the virtual key it presents — or
    /// a 401 in the caller's protocol: no key, an unknown one, an expired or a revoked one.</summary>
    public VirtualKeyEntry Authenticate(HttpContext http)
    {
        if (_options.ResolvePrincipal is { } resolve && http.Features.Get<IHttpAuthenticationFeature>()?.User is { Identity.IsAuthenticated: true } principal
            && resolve(principal) is { } acting)
        {
            return string.IsNullOrEmpty(acting.Id)
                ? throw new InvalidOperationException("LlmVirtualKeyOptions.ResolvePrincipal returned a key without an Id.")
                : new VirtualKeyEntry(acting);
        }

        var secret = PresentedKeys.Of(http.Request);
        if (secret.IsEmpty)
        {
            throw Refuse("No API key. Send a virtual key as 'Authorization: Bearer <key>' (OpenAI SDKs) or 'x-api-key: <key>' (Anthropic SDKs).");
        }

        if (!KeyHash.TryOf(secret, out var hash) || !_bySecret.TryGetValue(hash, out var entry))
        {
            throw Refuse("Incorrect API key provided.");
        }

        var now = timeProvider.GetUtcNow();
        return entry.Key.RevokedAt <= now ? throw Refuse($"API key {entry.Key.Id} has been revoked.")
            : entry.NotAfter <= now ? throw Refuse($"API key {entry.Key.Id} has expired.")
            : entry;
    }

    private static LlmGatewayException Refuse(string message) =>
        new(new LlmError(LlmErrorKind.Authentication, message) { Code = LlmErrorCodes.InvalidApiKey });

    private LlmStoredKey FromConfiguration(string id, LlmConfiguredKey configured)
    {
        var hash = configured.SecretHash?.ToLowerInvariant() ?? (KeyHash.TryOf(configured.Secret, out var h) ? h.ToString() : "");
        var key = new LlmVirtualKey
        {
            Id = id,
            Name = configured.Name,
            Team = configured.Team,
            User = configured.User,
            App = configured.App,
            Models = [.. configured.Models],
            ExpiresAt = configured.ExpiresAt,
            Tags = new Dictionary<string, string>(configured.Tags, StringComparer.Ordinal),
            CreatedAt = timeProvider.GetUtcNow(),
            Hint = configured.Secret is { } secret ? KeySecrets.Hint(secret) : null,
        };
        return new LlmStoredKey(key, [new LlmKeySecret(hash)]);
    }
}

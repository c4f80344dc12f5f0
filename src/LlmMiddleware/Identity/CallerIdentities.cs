using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features.Authentication;

namespace LlmMiddleware.Identity;

/// <summary>
/// Who a call is attributed to — the one answer metering, the response cache's tenant scope and governance use: what a
/// hook or stage set on <see cref="LlmRequestContext.Caller"/>, else the default below, settled once per call.
/// </summary>
internal sealed class CallerIdentities
{
    private const int MaxRememberedKeys = 10_000;
    private readonly ConcurrentDictionary<string, string> _keyFingerprints = new(StringComparer.Ordinal);

    /// <summary>The call's caller, settled on first use.</summary>
    public LlmCallerIdentity Of(LlmRequestContext context) => context.Caller ??= Default(context);

    /// <summary>
    /// By default a call is attributed to the host's authenticated principal when there is one (Basic, cookies, mTLS, an
    /// auth proxy: <c>principal_…</c>, a fingerprint of its authentication type and name identifier), else to a
    /// fingerprint of the key it presented (<c>key_…</c>), and to the request's user. A caller with neither has no key.
    /// </summary>
    private LlmCallerIdentity Default(LlmRequestContext context)
    {
        var http = context.HttpContext;
        // Read through the feature: HttpContext.User makes an empty principal for a request that has none.
        if (http.Features.Get<IHttpAuthenticationFeature>()?.User?.Identity is { IsAuthenticated: true } identity &&
            (http.User.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? identity.Name) is { Length: > 0 } name)
        {
            return new LlmCallerIdentity { Key = Fingerprint("principal_", identity.AuthenticationType + "\n" + name), User = context.Request.User };
        }

        var key = PresentedKeys.Of(http.Request);
        return new LlmCallerIdentity { Key = key.IsEmpty ? null : Fingerprint("key_", key), User = context.Request.User };
    }

    private string Fingerprint(string prefix, ReadOnlySpan<char> key)
    {
        // Looked up by span: a known key costs no string.
        var known = _keyFingerprints.GetAlternateLookup<ReadOnlySpan<char>>();
        if (known.TryGetValue(key, out var fingerprint) && fingerprint.StartsWith(prefix, StringComparison.Ordinal))
        {
            return fingerprint;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString()), hash);
        fingerprint = prefix + Convert.ToHexStringLower(hash[..8]);
        if (_keyFingerprints.Count >= MaxRememberedKeys)
        {
            _keyFingerprints.Clear();
        }

        known[key] = fingerprint;
        return fingerprint;
    }
}

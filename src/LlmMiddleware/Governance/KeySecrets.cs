using System.Buffers.Binary;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace LlmMiddleware.Governance;

/// <summary>SHA-256 of a secret, as two 128-bit halves: a dictionary key that costs no allocation to make or compare.
/// A plain hash (no salt, no stretching) is enough: issued secrets carry 256 random bits, so there is nothing to guess.</summary>
internal readonly record struct KeyHash(UInt128 High, UInt128 Low)
{
    /// <summary>Longest secret hashed; anything longer is no key of ours.</summary>
    public const int MaxSecretLength = 256;

    public static bool TryOf(ReadOnlySpan<char> secret, out KeyHash hash)
    {
        hash = default;
        if (secret.IsEmpty || secret.Length > MaxSecretLength)
        {
            return false;
        }

        Span<byte> utf8 = stackalloc byte[MaxSecretLength * 3];
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(utf8[..Encoding.UTF8.GetBytes(secret, utf8)], digest);
        hash = new(BinaryPrimitives.ReadUInt128BigEndian(digest), BinaryPrimitives.ReadUInt128BigEndian(digest[16..]));
        return true;
    }

    public static bool TryParse(string? hex, out KeyHash hash)
    {
        hash = default;
        if (hex is not { Length: 64 } || !UInt128.TryParse(hex.AsSpan(0, 32), NumberStyles.AllowHexSpecifier, null, out var high)
            || !UInt128.TryParse(hex.AsSpan(32), NumberStyles.AllowHexSpecifier, null, out var low))
        {
            return false;
        }

        hash = new(high, low);
        return true;
    }

    public override string ToString() => High.ToString("x32", CultureInfo.InvariantCulture) + Low.ToString("x32", CultureInfo.InvariantCulture);
}

/// <summary>Issues secrets and ids.</summary>
internal static class KeySecrets
{
    public const string Prefix = "sk-llm-";

    /// <summary>A new secret: the prefix and 256 random bits, base64url.</summary>
    public static string NewSecret()
    {
        Span<byte> random = stackalloc byte[32];
        RandomNumberGenerator.Fill(random);
        return Prefix + Base64Url.EncodeToString(random);
    }

    /// <summary>A new key id: <c>vk_</c> and 64 random bits.</summary>
    public static string NewId() => "vk_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    /// <summary>Enough of a secret to recognise it, not to use it.</summary>
    public static string Hint(string secret) => secret.Length < 16 ? "…" : secret[..Math.Min(secret.Length - 8, Prefix.Length + 4)] + "…" + secret[^4..];
}

using System.Text;

namespace LlmMiddleware.PostgreSql;

/// <summary>
/// Makes caller-chosen text storable in a PostgreSQL <c>text</c> or <c>jsonb</c> column: NUL (which PostgreSQL refuses)
/// and lone surrogates (which are not UTF-8) become U+FFFD, and text over <see cref="MaxLength"/> characters is cut
/// (whole characters only) and ends in "…", so no value can overflow an index entry.
/// </summary>
internal static class LedgerText
{
    /// <summary>At most this many characters are kept per value: at most 1.5 KB of UTF-8, under the ~2.7 KB a b-tree index
    /// entry allows (the caller's key and team are indexed).</summary>
    public const int MaxLength = 512;

    public static string? Clean(string? text)
    {
        if (text is null || (text.Length <= MaxLength && !NeedsCleaning(text)))
        {
            return text;
        }

        var builder = new StringBuilder(Math.Min(text.Length, MaxLength + 1));
        for (var i = 0; i < text.Length && builder.Length < MaxLength; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                if (builder.Length + 2 > MaxLength)
                {
                    break;
                }

                builder.Append(c).Append(text[++i]);
            }
            else
            {
                builder.Append(c == '\0' || char.IsSurrogate(c) ? '\uFFFD' : c);
            }
        }

        return builder.Length < text.Length && text.Length > MaxLength ? builder.Append('…').ToString() : builder.ToString();
    }

    /// <summary>The tags, each key and value cleaned; keys that become equal keep the last value.</summary>
    public static Dictionary<string, string> Clean(IReadOnlyDictionary<string, string> tags)
    {
        var cleaned = new Dictionary<string, string>(tags.Count, StringComparer.Ordinal);
        foreach (var (key, value) in tags)
        {
            cleaned[Clean(key)!] = Clean(value)!;
        }

        return cleaned;
    }

    private static bool NeedsCleaning(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0' || (char.IsSurrogate(c) && !(char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[++i]))))
            {
                return true;
            }
        }

        return false;
    }
}

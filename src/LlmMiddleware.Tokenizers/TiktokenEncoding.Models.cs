namespace LlmMiddleware.Tokenizers;

public sealed partial class TiktokenEncoding
{
    // Model-name prefixes to encodings, most specific first; a prefix matches the name itself or the name followed by
    // '-' or '.' (so "gpt-4" covers "gpt-4-0613" but not "gpt-4o"), and a prefix ending in '.' matches any name it
    // starts. Mirrors tiktoken's model map for the encodings we ship.
    private static readonly (string Prefix, string Encoding)[] ModelPrefixes =
    [
        ("gpt-5", O200kBaseName),
        ("gpt-4.", O200kBaseName), // gpt-4.1, gpt-4.5
        ("gpt-4o", O200kBaseName),
        ("chatgpt-4o", O200kBaseName),
        ("o1", O200kBaseName),
        ("o3", O200kBaseName),
        ("o4-mini", O200kBaseName),
        ("gpt-4", Cl100kBaseName),
        ("gpt-3.5-turbo", Cl100kBaseName),
        ("gpt-35-turbo", Cl100kBaseName), // Azure deployment names
        ("text-embedding-3-small", Cl100kBaseName),
        ("text-embedding-3-large", Cl100kBaseName),
        ("text-embedding-ada-002", Cl100kBaseName),
        ("davinci-002", Cl100kBaseName),
        ("babbage-002", Cl100kBaseName),
    ];

    /// <summary>
    /// The encoding name for an OpenAI model, or <see langword="null"/> when the model is unknown or uses an encoding
    /// this library does not ship. Accepts dated snapshots (<c>gpt-4o-2024-08-06</c>), fine-tunes
    /// (<c>ft:gpt-4o-mini:org::id</c>) and provider-prefixed names (<c>openai/gpt-4o</c>).
    /// </summary>
    public static string? GetEncodingNameForModel(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var name = model.AsSpan();
        if (name.StartsWith("ft:", StringComparison.Ordinal))
        {
            name = name[3..];
            var colon = name.IndexOf(':');
            name = colon < 0 ? name : name[..colon];
        }

        var slash = name.LastIndexOf('/');
        name = name[(slash + 1)..];
        foreach (var (prefix, encoding) in ModelPrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && (name.Length == prefix.Length || prefix[^1] == '.' || name[prefix.Length] is '-' or '.'))
            {
                return encoding;
            }
        }

        return null;
    }

    /// <summary>The encoding of an OpenAI model (see <see cref="GetEncodingNameForModel"/>), or <see langword="null"/>.</summary>
    public static TiktokenEncoding? ForModel(string model) =>
        GetEncodingNameForModel(model) is { } name ? GetEncoding(name) : null;
}

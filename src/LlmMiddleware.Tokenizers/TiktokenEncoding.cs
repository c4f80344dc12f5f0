using System.Buffers;
using System.Collections.Frozen;
using System.Runtime.InteropServices;
using System.Text;
using LlmMiddleware.Tokenizers.Internal;

namespace LlmMiddleware.Tokenizers;

/// <summary>
/// A tiktoken-compatible byte-pair encoding: the same token ids as OpenAI's <c>tiktoken</c> for every input, special
/// tokens handled the same way. Instances are immutable and thread-safe; the rank data loads on first use.
/// </summary>
/// <example>
/// <code>
/// var encoding = TiktokenEncoding.ForModel("gpt-4o") ?? TiktokenEncoding.O200kBase;
/// int count = encoding.CountTokens("Hello, world!");
/// </code>
/// </example>
public sealed partial class TiktokenEncoding
{
    /// <summary>The name of the GPT-4o / o-series / GPT-5 encoding.</summary>
    public const string O200kBaseName = "o200k_base";

    /// <summary>The name of the GPT-4 / GPT-3.5 / text-embedding-3 encoding.</summary>
    public const string Cl100kBaseName = "cl100k_base";

    /// <summary>Up to this many UTF-8 bytes are encoded from a stack buffer.</summary>
    private const int StackLimit = 1024;

    private static readonly Lazy<TiktokenEncoding> O200k = new(() => Load(
        O200kBaseName,
        O200kPreTokenizer.Instance,
        new Dictionary<string, int> { ["<|endoftext|>"] = 199999, ["<|endofprompt|>"] = 200018 }));

    private static readonly Lazy<TiktokenEncoding> Cl100k = new(() => Load(
        Cl100kBaseName,
        Cl100kPreTokenizer.Instance,
        new Dictionary<string, int>
        {
            ["<|endoftext|>"] = 100257,
            ["<|fim_prefix|>"] = 100258,
            ["<|fim_middle|>"] = 100259,
            ["<|fim_suffix|>"] = 100260,
            ["<|endofprompt|>"] = 100276,
        }));

    private readonly TokenRanks _ranks;
    private readonly PreTokenizer _preTokenizer;
    private readonly FrozenDictionary<int, byte[]> _specialTokenBytes;
    private readonly ThreadLocal<MergeCache> _mergeCaches = new(() => new MergeCache());
    private TiktokenEncodingTokenizer? _tokenizer;

    [ThreadStatic]
    private static List<int>? t_merged;

    private TiktokenEncoding(string name, TokenRanks ranks, PreTokenizer preTokenizer, IDictionary<string, int> specialTokens)
    {
        Name = name;
        _ranks = ranks;
        _preTokenizer = preTokenizer;
        SpecialTokens = specialTokens.ToFrozenDictionary(StringComparer.Ordinal);
        SpecialTokenNames = SpecialTokens.Keys.ToFrozenSet(StringComparer.Ordinal);
        _specialTokenBytes = SpecialTokens.ToFrozenDictionary(pair => pair.Value, pair => Encoding.UTF8.GetBytes(pair.Key));
        VocabularySize = Math.Max(ranks.Count, SpecialTokens.Values.Max() + 1);
    }

    /// <summary>The encoding of GPT-4o, GPT-4.1, GPT-4.5, GPT-5 and the o-series.</summary>
    public static TiktokenEncoding O200kBase => O200k.Value;

    /// <summary>The encoding of GPT-4, GPT-3.5 Turbo and the text-embedding-3 / ada-002 models.</summary>
    public static TiktokenEncoding Cl100kBase => Cl100k.Value;

    /// <summary>This encoding as a Microsoft.ML.Tokenizers <see cref="Microsoft.ML.Tokenizers.Tokenizer"/>.</summary>
    public TiktokenEncodingTokenizer Tokenizer => _tokenizer ??= new TiktokenEncodingTokenizer(this);

    /// <summary>The encoding's name, as tiktoken spells it.</summary>
    public string Name { get; }

    /// <summary>One more than the highest token id, special tokens included (tiktoken's <c>n_vocab</c>).</summary>
    public int VocabularySize { get; }

    /// <summary>Special token text to id, from tiktoken's own table.</summary>
    public IReadOnlyDictionary<string, int> SpecialTokens { get; }

    /// <summary>Every special token's text: pass it as <c>allowedSpecial</c> for tiktoken's <c>allowed_special="all"</c>.</summary>
    public IReadOnlySet<string> SpecialTokenNames { get; }

    /// <summary>Returns the encoding called <paramref name="name"/> (<c>o200k_base</c> or <c>cl100k_base</c>).</summary>
    /// <exception cref="ArgumentException">The name is not a supported encoding.</exception>
    public static TiktokenEncoding GetEncoding(string name) => name switch
    {
        O200kBaseName => O200kBase,
        Cl100kBaseName => Cl100kBase,
        _ => throw new ArgumentException($"Unknown or unsupported encoding '{name}'. Supported: {O200kBaseName}, {Cl100kBaseName}.", nameof(name)),
    };

    /// <summary>
    /// Encodes <paramref name="text"/> treating special-token text as ordinary text (tiktoken's <c>encode_ordinary</c>):
    /// the right call for untrusted input.
    /// </summary>
    public int[] EncodeOrdinary(ReadOnlySpan<char> text)
    {
        var tokens = new List<int>(text.Length / 3 + 1);
        EncodeOrdinary(text, tokens);
        return [.. tokens];
    }

    /// <summary>Appends the ordinary encoding of <paramref name="text"/> to <paramref name="tokens"/>.</summary>
    public void EncodeOrdinary(ReadOnlySpan<char> text, List<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var sink = new ListSink(tokens);
        EncodeText(text, ref sink);
    }

    /// <summary>The number of tokens <see cref="EncodeOrdinary(ReadOnlySpan{char})"/> would return, without storing them.</summary>
    public int CountTokens(ReadOnlySpan<char> text)
    {
        var sink = new CountingSink();
        EncodeText(text, ref sink);
        return sink.Count;
    }

    /// <summary>
    /// Encodes <paramref name="text"/> as tiktoken's <c>encode</c> does: occurrences of an allowed special token become
    /// that token; any other special-token text found in <paramref name="disallowedSpecial"/> is an error.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="allowedSpecial">Special tokens to encode as such; <see cref="SpecialTokenNames"/> allows all.
    /// <see langword="null"/> allows none.</param>
    /// <param name="disallowedSpecial">Special tokens whose text may not appear; <see langword="null"/> means every
    /// special token not allowed (tiktoken's default), an empty set checks nothing and encodes such text as ordinary.</param>
    /// <exception cref="ArgumentException">The text contains a disallowed special token.</exception>
    public int[] Encode(ReadOnlySpan<char> text, IReadOnlySet<string>? allowedSpecial = null, IReadOnlySet<string>? disallowedSpecial = null)
    {
        allowedSpecial ??= FrozenSet<string>.Empty;
        foreach (var special in disallowedSpecial ?? SpecialTokenNames)
        {
            if ((disallowedSpecial is not null || !allowedSpecial.Contains(special)) && text.Contains(special, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The text contains the special token '{special}', which is not allowed. Allow it, or encode the text as ordinary text.", nameof(text));
            }
        }

        var tokens = new List<int>(text.Length / 3 + 1);
        var sink = new ListSink(tokens);
        while (!text.IsEmpty)
        {
            var (at, special) = FindFirst(text, allowedSpecial);
            if (special is null)
            {
                EncodeText(text, ref sink);
                break;
            }

            EncodeText(text[..at], ref sink);
            tokens.Add(SpecialTokens[special]);
            text = text[(at + special.Length)..];
        }

        return [.. tokens];
    }

    /// <summary>The bytes the tokens stand for.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A token id is not in the vocabulary.</exception>
    public byte[] DecodeBytes(ReadOnlySpan<int> tokens)
    {
        var length = 0;
        foreach (var token in tokens)
        {
            length += TokenBytes(token).Length;
        }

        var bytes = new byte[length];
        var written = 0;
        foreach (var token in tokens)
        {
            var tokenBytes = TokenBytes(token);
            tokenBytes.CopyTo(bytes.AsSpan(written));
            written += tokenBytes.Length;
        }

        return bytes;
    }

    /// <summary>The text the tokens stand for; bytes that are not valid UTF-8 on their own (a token list cut inside a
    /// character) become U+FFFD, as tiktoken's <c>decode</c> does with <c>errors="replace"</c>.</summary>
    public string Decode(ReadOnlySpan<int> tokens) => Encoding.UTF8.GetString(DecodeBytes(tokens));

    /// <summary>The bytes of one token.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The id is not in the vocabulary.</exception>
    public ReadOnlySpan<byte> TokenBytes(int token) =>
        (uint)token < (uint)_ranks.Count ? _ranks.TokenBytes(token)
        : _specialTokenBytes.TryGetValue(token, out var special) ? special
        : throw new ArgumentOutOfRangeException(nameof(token), token, $"Token {token} is not in {Name}.");

    private static (int At, string? Special) FindFirst(ReadOnlySpan<char> text, IReadOnlySet<string> allowed)
    {
        var best = (At: -1, Special: (string?)null);
        foreach (var special in allowed)
        {
            var at = text.IndexOf(special, StringComparison.Ordinal);
            if (at >= 0 && (best.Special is null || at < best.At))
            {
                best = (at, special);
            }
        }

        return best;
    }

    private void EncodeText<TSink>(ReadOnlySpan<char> text, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        if (text.IsEmpty)
        {
            return;
        }

        // Lone surrogates become U+FFFD, as tiktoken's Python wrapper does before encoding.
        var maxBytes = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        Span<byte> buffer = maxBytes <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            var length = Encoding.UTF8.GetBytes(text, buffer);
            EncodeUtf8(buffer[..length], ref sink);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Encodes valid UTF-8 piece by piece: a piece that is itself a token (most words) is one look-up.</summary>
    internal void EncodeUtf8<TSink>(ReadOnlySpan<byte> utf8, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        var preTokenizer = _preTokenizer;
        var ranks = _ranks;
        var cache = _mergeCaches.Value!;
        for (var start = 0; start < utf8.Length;)
        {
            var end = preTokenizer.PieceEnd(utf8, start);
            var piece = utf8[start..end];
            var hash = TokenRanks.Hash(piece);
            var rank = ranks.Rank(piece, hash);
            if (rank >= 0)
            {
                sink.Add(rank);
            }
            else if (piece.Length > MergeCache.MaxPieceLength)
            {
                BytePairMerger.Merge(piece, ranks, ref sink);
            }
            else if (!cache.TryAdd(piece, hash, ref sink))
            {
                AddMerged(piece, hash, cache, ref sink);
            }

            start = end;
        }
    }

    /// <summary>The splitter and the rank table, for the benchmarks' stage-by-stage profile.</summary>
    internal (PreTokenizer PreTokenizer, TokenRanks Ranks) Stages => (_preTokenizer, _ranks);

    /// <summary>Empties this thread's merge cache, so a benchmark can measure a text never seen before.</summary>
    internal void ClearMergeCache() => _mergeCaches.Value!.Clear();

    private void AddMerged<TSink>(ReadOnlySpan<byte> piece, uint hash, MergeCache cache, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        var merged = t_merged ??= new List<int>(MergeCache.MaxPieceLength);
        merged.Clear();
        var collect = new ListSink(merged);
        BytePairMerger.Merge(piece, _ranks, ref collect);
        var tokens = CollectionsMarshal.AsSpan(merged);
        cache.Add(piece, hash, tokens);
        foreach (var token in tokens)
        {
            sink.Add(token);
        }
    }

    private static TiktokenEncoding Load(string name, PreTokenizer preTokenizer, Dictionary<string, int> specialTokens)
    {
        using var stream = OpenRankData(name);
        return new TiktokenEncoding(name, TokenRanks.Load(stream), preTokenizer, specialTokens);
    }

    /// <summary>Opens the embedded, Brotli-compressed <c>.tiktoken</c> file of <paramref name="name"/>.</summary>
    internal static Stream OpenRankData(string name) =>
        typeof(TiktokenEncoding).Assembly.GetManifestResourceStream(name + ".tiktoken.br")
        ?? throw new InvalidOperationException($"The rank data of {name} is missing from the assembly.");
}

using System.Text;
using System.Text.RegularExpressions;
using BenchmarkDotNet.Attributes;
using LlmMiddleware.Tokenizers;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// Tokenizer throughput, single thread, on a mixed English/code corpus (Corpus/mixed-english-code.txt: the project's
/// README and benchmark notes with two of its C# files). Baseline: a naive tiktoken port in the same run (the split
/// regex through .NET's compiled Regex, string-keyed ranks, quadratic merges with string concatenation).
/// MB/s = corpus bytes / mean; tokens/s = <see cref="Tokens"/> / mean.
/// </summary>
[MemoryDiagnoser]
public class TokenizerBenchmarks
{
    private string _corpus = "";
    private NaiveTiktoken _naive = null!;

    [Params("o200k_base", "cl100k_base")]
    public string Encoding { get; set; } = "o200k_base";

    public int Tokens { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        _corpus = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Corpus", "mixed-english-code.txt"));
        var encoding = TiktokenEncoding.GetEncoding(Encoding);
        _naive = new NaiveTiktoken(encoding);
        Tokens = encoding.CountTokens(_corpus);
        if (!_naive.Encode(_corpus).SequenceEqual(encoding.EncodeOrdinary(_corpus)))
        {
            throw new InvalidOperationException("The naive baseline disagrees with the tokenizer; the comparison would be meaningless.");
        }

        Console.WriteLine($"// corpus: {System.Text.Encoding.UTF8.GetByteCount(_corpus)} bytes, {Tokens} tokens ({Encoding})");
    }

    [Benchmark(Baseline = true, Description = "naive port (Regex + string ranks)")]
    public int Naive() => _naive.Encode(_corpus).Count;

    [Benchmark(Description = "EncodeOrdinary")]
    public int Encode() => TiktokenEncoding.GetEncoding(Encoding).EncodeOrdinary(_corpus).Length;

    [Benchmark(Description = "CountTokens")]
    public int Count() => TiktokenEncoding.GetEncoding(Encoding).CountTokens(_corpus);

    /// <summary>Every merged piece computed afresh: the cost of text the encoder has never seen.</summary>
    [Benchmark(Description = "CountTokens, cold merge cache")]
    public int CountCold()
    {
        var encoding = TiktokenEncoding.GetEncoding(Encoding);
        encoding.ClearMergeCache();
        return encoding.CountTokens(_corpus);
    }

    /// <summary>The textbook way to port tiktoken: correct on this corpus, and what a first attempt usually looks like.</summary>
    private sealed class NaiveTiktoken
    {
        private const string O200kPattern = @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
        private const string Cl100kPattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

        private readonly Regex _split;
        private readonly Dictionary<string, int> _ranks = new(StringComparer.Ordinal);

        public NaiveTiktoken(TiktokenEncoding encoding)
        {
            _split = new Regex(encoding.Name == TiktokenEncoding.O200kBaseName ? O200kPattern : Cl100kPattern, RegexOptions.Compiled);
            for (var rank = 0; rank < encoding.VocabularySize; rank++)
            {
                if (!encoding.SpecialTokens.Values.Contains(rank) && rank < encoding.VocabularySize)
                {
                    try
                    {
                        _ranks[Latin1(encoding.TokenBytes(rank))] = rank;
                    }
                    catch (ArgumentOutOfRangeException)
                    {
                        // a gap between the mergeable ranks and the special tokens
                    }
                }
            }
        }

        public List<int> Encode(string text)
        {
            var tokens = new List<int>();
            foreach (Match match in _split.Matches(text))
            {
                var piece = Latin1(System.Text.Encoding.UTF8.GetBytes(match.Value));
                if (_ranks.TryGetValue(piece, out var rank))
                {
                    tokens.Add(rank);
                    continue;
                }

                var parts = piece.Select(c => c.ToString()).ToList();
                while (true)
                {
                    var best = int.MaxValue;
                    var at = -1;
                    for (var i = 0; i < parts.Count - 1; i++)
                    {
                        if (_ranks.TryGetValue(parts[i] + parts[i + 1], out var pair) && pair < best)
                        {
                            best = pair;
                            at = i;
                        }
                    }

                    if (at < 0)
                    {
                        break;
                    }

                    parts[at] += parts[at + 1];
                    parts.RemoveAt(at + 1);
                }

                tokens.AddRange(parts.Select(p => _ranks[p]));
            }

            return tokens;
        }

        private static string Latin1(ReadOnlySpan<byte> bytes) => System.Text.Encoding.Latin1.GetString(bytes);
    }
}

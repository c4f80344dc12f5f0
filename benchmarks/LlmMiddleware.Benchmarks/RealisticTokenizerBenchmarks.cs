using System.Text;
using BenchmarkDotNet.Attributes;
using LlmMiddleware.Tokenizers;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// Tokenizer throughput, single thread, on <see cref="RealisticCorpus"/> (12 MB of prose in thirteen languages, code in
/// five, JSON, XML and logs from this machine's own files). Baseline: Microsoft.ML.Tokenizers' <c>TiktokenTokenizer</c>
/// in the same run. Parity with tiktoken on every document is checked by <c>corpus-parity</c> (see Program.cs).
/// MB/s = corpus bytes / mean.
/// </summary>
[MemoryDiagnoser]
public class RealisticTokenizerBenchmarks
{
    private string _corpus = "";
    private TiktokenEncoding _ours = null!;
    private Microsoft.ML.Tokenizers.TiktokenTokenizer _ml = null!;

    [Params("o200k_base", "cl100k_base")]
    public string Encoding { get; set; } = "o200k_base";

    [GlobalSetup]
    public void Setup()
    {
        _corpus = RealisticCorpus.Text;
        _ours = TiktokenEncoding.GetEncoding(Encoding);
        _ml = Microsoft.ML.Tokenizers.TiktokenTokenizer.CreateForEncoding(Encoding);
        var count = _ours.CountTokens(_corpus);
        if (count != _ml.CountTokens(_corpus))
        {
            throw new InvalidOperationException("The baseline disagrees with the tokenizer on this corpus; the comparison would be meaningless.");
        }

        Console.WriteLine($"// {RealisticCorpus.Describe()}; {System.Text.Encoding.UTF8.GetByteCount(_corpus)} bytes, {count} tokens ({Encoding})");
    }

    [Benchmark(Baseline = true, Description = "Microsoft.ML.Tokenizers CountTokens")]
    public int MicrosoftML() => _ml.CountTokens(_corpus);

    [Benchmark(Description = "CountTokens")]
    public int Count() => _ours.CountTokens(_corpus);

    /// <summary>The merge cache emptied first: the whole corpus as text never seen before.</summary>
    [Benchmark(Description = "CountTokens, cold merge cache")]
    public int CountCold()
    {
        _ours.ClearMergeCache();
        return _ours.CountTokens(_corpus);
    }

    [Benchmark(Description = "EncodeOrdinary")]
    public int Encode() => _ours.EncodeOrdinary(_corpus).Length;

    [Benchmark(Description = "as a Microsoft.ML.Tokenizers Tokenizer (CountTokens)")]
    public int AsTokenizer() => _ours.Tokenizer.CountTokens(_corpus);
}

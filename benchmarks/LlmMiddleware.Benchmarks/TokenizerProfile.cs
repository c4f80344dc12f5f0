using System.Diagnostics;
using System.Text;
using LlmMiddleware.Tokenizers;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// Where the tokenizer's time goes on <see cref="RealisticCorpus"/>, stage by stage (splitting into pieces, looking
/// the pieces up, everything) and kind by kind, single thread: <c>-- tokenizer-profile [encoding]</c>. Each figure is
/// the fastest of 15 passes after a warm-up of 12 s, the stages interleaved so the VM's noise hits them alike. A tool
/// for finding the next bottleneck; the claims live in <see cref="RealisticTokenizerBenchmarks"/>.
/// </summary>
internal static class TokenizerProfile
{
    public static int Run(string encodingName)
    {
        var encoding = TiktokenEncoding.GetEncoding(encodingName);
        var text = RealisticCorpus.Text;
        var utf8 = Encoding.UTF8.GetBytes(text);
        var (splitter, ranks) = encoding.Stages;

        long Split()
        {
            var pieces = 0L;
            for (var start = 0; start < utf8.Length; pieces++)
            {
                start = splitter.PieceEnd(utf8, start);
            }

            return pieces;
        }

        long Lookup()
        {
            var misses = 0L;
            for (var start = 0; start < utf8.Length;)
            {
                var end = splitter.PieceEnd(utf8, start);
                misses += ranks.Rank(utf8.AsSpan(start, end - start)) < 0 ? 1 : 0;
                start = end;
            }

            return misses;
        }

        var best = Fastest([Split, Lookup, () => encoding.CountTokens(text)], TimeSpan.FromSeconds(12));
        Console.WriteLine($"{encodingName}, {utf8.Length / 1e6:F1} MB, {encoding.CountTokens(text)} tokens, {Split()} pieces ({Lookup()} not tokens): split {best[0]:F0} ms, " +
            $"split + look-up {best[1]:F0} ms, CountTokens {best[2]:F0} ms = {utf8.Length / best[2] / 1e3:F1} MB/s, {encoding.CountTokens(text) / best[2] / 1e3:F1} M tokens/s");

        foreach (var kind in RealisticCorpus.DocumentsByKind.GroupBy(d => d.Kind.StartsWith("prose", StringComparison.Ordinal) ? d.Kind : d.Kind.Split(':')[0]).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var part = string.Concat(kind.Select(d => d.Text));
            var bytes = Encoding.UTF8.GetByteCount(part);
            var ms = Fastest([() => encoding.CountTokens(part)], TimeSpan.FromSeconds(1))[0];
            Console.WriteLine($"  {kind.Key,-28} {bytes / 1e6,5:F2} MB  {ms,6:F1} ms  {bytes / ms / 1e3,5:F0} MB/s");
        }

        return 0;
    }

    private static double[] Fastest(Func<long>[] stages, TimeSpan warmUp)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < warmUp)
        {
            Array.ForEach(stages, stage => stage());
        }

        var best = Enumerable.Repeat(double.MaxValue, stages.Length).ToArray();
        for (var pass = 0; pass < 15; pass++)
        {
            for (var i = 0; i < stages.Length; i++)
            {
                clock.Restart();
                stages[i]();
                best[i] = Math.Min(best[i], clock.Elapsed.TotalMilliseconds);
            }
        }

        return best;
    }
}

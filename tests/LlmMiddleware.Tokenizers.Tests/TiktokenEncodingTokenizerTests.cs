using System.Buffers;
using Microsoft.ML.Tokenizers;
using Xunit;

namespace LlmMiddleware.Tokenizers.Tests;

/// <summary>The encoding behind Microsoft.ML.Tokenizers' <see cref="Tokenizer"/> API: the same answers as the
/// package's own <see cref="TiktokenTokenizer"/> for offsets, limits and decoding.</summary>
public sealed class TiktokenEncodingTokenizerTests
{
    private const string Mixed = "Grüße, 世界! 👋🏽 Tokens: naïve café — done.\n\tcode(x) => x * 2;";
    private static readonly Tokenizer Ours = TiktokenEncoding.O200kBase.Tokenizer;
    private static readonly Tokenizer Oracle = TiktokenTokenizer.CreateForEncoding("o200k_base");

    [Fact]
    public void TokensCarryTheirIdsValuesAndOffsets()
    {
        var tokens = Ours.EncodeToTokens(Mixed, out var normalized);

        Assert.Null(normalized);
        Assert.Equal(Oracle.EncodeToIds(Mixed), tokens.Select(t => t.Id));
        Assert.Equal(Oracle.EncodeToTokens(Mixed, out _).Select(t => t.Offset), tokens.Select(t => t.Offset));
        Assert.Equal("Gr", tokens[0].Value);
        Assert.Equal(Mixed.Length, tokens[^1].Offset.End.Value);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(12)]
    [InlineData(17)]
    [InlineData(1000)]
    public void LimitsNeverCutACharacterAndReportWhatTheyCover(int maxTokens)
    {
        var ids = Ours.EncodeToIds(Mixed, maxTokens, out _, out var consumed);
        var index = Ours.GetIndexByTokenCount(Mixed, maxTokens, out _, out var counted);
        var fromEnd = Ours.GetIndexByTokenCountFromEnd(Mixed, maxTokens, out _, out var countedFromEnd);

        Assert.Equal(Oracle.EncodeToIds(Mixed, maxTokens, out _, out var oracleConsumed), ids);
        Assert.Equal(oracleConsumed, consumed);
        Assert.Equal(Oracle.GetIndexByTokenCount(Mixed, maxTokens, out _, out var oracleCounted), index);
        Assert.Equal(oracleCounted, counted);
        Assert.Equal(Oracle.GetIndexByTokenCountFromEnd(Mixed, maxTokens, out _, out var oracleFromEnd), fromEnd);
        Assert.Equal(oracleFromEnd, countedFromEnd);
        Assert.Equal(Ours.EncodeToIds(Mixed[..consumed]), ids);
    }

    [Fact]
    public void DecodesWholeAndIntoABuffer()
    {
        var ids = Ours.EncodeToIds(Mixed);
        var buffer = new char[Mixed.Length];
        var small = new char[10];

        Assert.Equal(Mixed, Ours.Decode(ids));
        Assert.Equal(OperationStatus.Done, Ours.Decode(ids, buffer, out var consumed, out var written));
        Assert.Equal((ids.Count, Mixed.Length), (consumed, written));
        Assert.Equal(Mixed, new string(buffer));
        Assert.Equal(OperationStatus.DestinationTooSmall, Ours.Decode(ids, small, out consumed, out written));
        Assert.Equal(Mixed[..written], new string(small, 0, written));
        Assert.True(consumed < ids.Count);
    }

    /// <summary>Pieces over 32 bytes merge on a heap rather than by scanning: runs of CJK text (one piece, three bytes
    /// a character) and long words, checked against the package's own tiktoken for both encodings.</summary>
    [Theory]
    [InlineData("o200k_base")]
    [InlineData("cl100k_base")]
    public void LongPiecesMergeAsTheOracleDoes(string encoding)
    {
        var random = new Random(9);
        var cjk = string.Concat(Enumerable.Range(0, 700).Select(_ => (char)random.Next(0x4E00, 0x6000)));
        var word = string.Concat(Enumerable.Range(0, 3000).Select(_ => (char)random.Next('a', 'z' + 1)));
        var oracle = TiktokenTokenizer.CreateForEncoding(encoding);

        foreach (var text in new[] { cjk, word, "x" + cjk[..200] + " " + word[..400] })
        {
            Assert.Equal(oracle.EncodeToIds(text), TiktokenEncoding.GetEncoding(encoding).Tokenizer.EncodeToIds(text));
        }
    }

    [Fact]
    public void SpecialTokenTextIsOrdinaryText()
    {
        Assert.Equal(TiktokenEncoding.O200kBase.EncodeOrdinary("a<|endoftext|>b"), Ours.EncodeToIds("a<|endoftext|>b"));
    }
}

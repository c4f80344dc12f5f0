using System.Security.Cryptography;
using System.Text.Json;
using Xunit;

namespace LlmMiddleware.Tokenizers.Tests;

public sealed class TiktokenEncodingTests
{
    [Theory]
    [InlineData("o200k_base", "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d")]
    [InlineData("cl100k_base", "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7")]
    public void EmbeddedRankDataIsOpenAIsFileUnchanged(string name, string tiktokenPinnedSha256)
    {
        using var compressed = TiktokenEncoding.OpenRankData(name);
        using var brotli = new System.IO.Compression.BrotliStream(compressed, System.IO.Compression.CompressionMode.Decompress);
        Assert.Equal(tiktokenPinnedSha256, Convert.ToHexStringLower(SHA256.HashData(brotli)));
    }

    [Fact]
    public void SpecialTokensComeFromTiktokensTable()
    {
        Assert.Equal(new Dictionary<string, int> { ["<|endoftext|>"] = 199999, ["<|endofprompt|>"] = 200018 }, TiktokenEncoding.O200kBase.SpecialTokens);
        Assert.Equal(200019, TiktokenEncoding.O200kBase.VocabularySize);
        Assert.Equal(100258, TiktokenEncoding.Cl100kBase.SpecialTokens["<|fim_prefix|>"]);
        Assert.Equal(100276, TiktokenEncoding.Cl100kBase.SpecialTokens["<|endofprompt|>"]);
        Assert.Equal(100277, TiktokenEncoding.Cl100kBase.VocabularySize);
    }

    [Fact]
    public void EncodeRefusesSpecialTokenTextUnlessAllowedOrUnchecked()
    {
        var encoding = TiktokenEncoding.Cl100kBase;
        const string text = "a<|endoftext|>b<|fim_prefix|>";

        var error = Assert.Throws<ArgumentException>(() => encoding.Encode(text));
        Assert.Contains("<|endoftext|>", error.Message);
        Assert.Throws<ArgumentException>(() => encoding.Encode(text, new HashSet<string> { "<|endoftext|>" }));

        var some = encoding.Encode(text, new HashSet<string> { "<|endoftext|>" }, new HashSet<string>());
        Assert.Equal([.. encoding.EncodeOrdinary("a"), 100257, .. encoding.EncodeOrdinary("b<|fim_prefix|>")], some);
        Assert.Equal(encoding.EncodeOrdinary(text), encoding.Encode(text, disallowedSpecial: new HashSet<string>()));
        Assert.Equal([.. encoding.EncodeOrdinary("a"), 100257, .. encoding.EncodeOrdinary("b"), 100258], encoding.Encode(text, encoding.SpecialTokenNames));
    }

    [Fact]
    public void DecodeReplacesSplitCharactersAndRejectsUnknownIds()
    {
        var encoding = TiktokenEncoding.O200kBase;
        var ids = encoding.EncodeOrdinary("𓀀");
        Assert.True(ids.Length > 1, "a rare character takes several byte-level tokens");
        Assert.Equal("𓀀", encoding.Decode(ids));
        Assert.Contains('\uFFFD', encoding.Decode(ids.AsSpan(0, 1)));
        Assert.Equal("<|endoftext|>", encoding.Decode([199999]));
        Assert.Throws<ArgumentOutOfRangeException>(() => encoding.Decode([199998]));
        Assert.Throws<ArgumentOutOfRangeException>(() => encoding.Decode([-1]));
    }

    [Fact]
    public void LoneSurrogatesAreEncodedAsReplacementCharacters()
    {
        var encoding = TiktokenEncoding.O200kBase;
        Assert.Equal(encoding.EncodeOrdinary("a\uFFFDb"), encoding.EncodeOrdinary("a\uD800b"));
    }

    [Fact]
    public void ModelMapMatchesTiktoken()
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "vectors.json")));
        foreach (var model in document.RootElement.GetProperty("models").EnumerateObject())
        {
            Assert.True(model.Value.GetString() == TiktokenEncoding.GetEncodingNameForModel(model.Name), model.Name);
        }
    }

    [Theory]
    [InlineData("gpt-5.1", "o200k_base")]
    [InlineData("gpt-4o-mini-2024-07-18", "o200k_base")]
    [InlineData("ft:gpt-4o-mini-2024-07-18:acme::abc123", "o200k_base")]
    [InlineData("openai/gpt-4.1", "o200k_base")]
    [InlineData("GPT-4", "cl100k_base")]
    [InlineData("gpt-4-0613", "cl100k_base")]
    [InlineData("claude-sonnet-4-5", null)]
    [InlineData("o10", null)]
    public void ModelMapCoversSnapshotsFineTunesAndPrefixes(string model, string? expected)
    {
        Assert.Equal(expected, TiktokenEncoding.GetEncodingNameForModel(model));
        Assert.Equal(expected, TiktokenEncoding.ForModel(model)?.Name);
    }

    [Fact]
    public void UnknownEncodingNameIsRejected() =>
        Assert.Throws<ArgumentException>(() => TiktokenEncoding.GetEncoding("p50k_base"));
}

using CsCheck;
using Microsoft.ML.Tokenizers;
using Xunit;

namespace LlmMiddleware.Tokenizers.Tests;

/// <summary>
/// Generated text against Microsoft.ML.Tokenizers' <see cref="TiktokenTokenizer"/>: fragments chosen to cross every fast
/// path of the splitter and the merger — ASCII words running into accented letters, capitals, contractions, prefixes,
/// digits, CJK runs and pieces long enough for the heap merge. The package differs from tiktoken on combining marks,
/// on <c>'ſ</c> and outside the Basic Multilingual Plane, so those stay with the tiktoken vectors
/// (<see cref="TokenizerParityTests"/>). A failure prints the CsCheck seed that reproduces it.
/// </summary>
public sealed class GeneratedTextParityTests
{
    private static readonly string[] Fragments =
    [
        "word", "Word", "WORD", "HTTPServer", "fooBar", "naïve", "Straße", "ÀÉÎ", "é", "ǅx", "ʰa",
        "'s", "'S", "'ll", "'LL", "'ve", "'re", "'d", "'", " ", "  ", "\n", "\r\n", "\t", "\u00A0", "\u3000",
        "1", "123", "4567", "٣٤", "(", "!!", "//", "->", "_", ".", "世界", "日本語の", "한국어", "Привет", "x", "Z",
    ];

    private static readonly Gen<string> Text = Gen.Frequency<string>(
        (6, Gen.OneOf(Fragments).Array[1, 40].Select(string.Concat)),
        (2, Gen.Char[' ', '~'].Array[1, 80].Select(chars => new string(chars))),
        (1, Gen.Char['a', 'z'].Array[20, 300].Select(chars => new string(chars))),
        (1, Gen.Char['\u4E00', '\u6000'].Array[10, 150].Select(chars => new string(chars))),
        (1, Gen.OneOf(Gen.Char['\u00C0', '\u024F'], Gen.Char['\u0400', '\u0482'], Gen.Char[' ', '@']).Array[1, 60].Select(chars => new string(chars))));

    [Theory]
    [InlineData("o200k_base")]
    [InlineData("cl100k_base")]
    public void GeneratedTextEncodesAsTheOracleDoes(string encoding)
    {
        var ours = TiktokenEncoding.GetEncoding(encoding);
        var oracle = TiktokenTokenizer.CreateForEncoding(encoding);
        Text.Sample(text => Assert.Equal(oracle.EncodeToIds(text), ours.EncodeOrdinary(text)), iter: 3000);
    }
}

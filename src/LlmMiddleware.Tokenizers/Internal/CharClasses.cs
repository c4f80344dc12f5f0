using System.Globalization;
using System.Runtime.CompilerServices;

namespace LlmMiddleware.Tokenizers.Internal;

/// <summary>The Unicode classes the tiktoken split patterns test, as flags.</summary>
[Flags]
internal enum CharClass : byte
{
    None = 0,

    /// <summary><c>\p{L}</c>.</summary>
    Letter = 1,

    /// <summary><c>[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]</c>: o200k's leading-capitals class.</summary>
    Upper = 2,

    /// <summary><c>[\p{Ll}\p{Lm}\p{Lo}\p{M}]</c>: o200k's lower-case class.</summary>
    Lower = 4,

    /// <summary><c>\p{N}</c>.</summary>
    Number = 8,

    /// <summary><c>\s</c>: the Unicode White_Space property, as the Rust regex crate defines it.</summary>
    Space = 16,

    /// <summary><c>\r</c> or <c>\n</c>.</summary>
    Newline = 32,
}

/// <summary>
/// Classifies code points read from UTF-8. The Basic Multilingual Plane is one table look-up; other planes ask
/// <see cref="CharUnicodeInfo"/> (they are rare, and a UTF-16 regex would misclassify them as surrogates).
/// </summary>
internal static class CharClasses
{
    private static readonly CharClass[] Bmp = BuildBmp();

    /// <summary>The class of the ASCII character <paramref name="b"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CharClass Ascii(byte b) => Bmp[b];

    /// <summary>Decodes the code point at <paramref name="index"/> of valid UTF-8 and returns its class and byte length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static CharClass At(ReadOnlySpan<byte> utf8, int index, out int length)
    {
        uint b = utf8[index];
        if (b < 0x80)
        {
            length = 1;
            return Bmp[b];
        }

        return NonAscii(utf8, index, b, out length);
    }

    private static CharClass NonAscii(ReadOnlySpan<byte> utf8, int index, uint b, out int length)
    {
        if (b < 0xE0)
        {
            length = 2;
            return Bmp[((b & 0x1F) << 6) | (utf8[index + 1] & 0x3Fu)];
        }

        if (b < 0xF0)
        {
            length = 3;
            return Bmp[((b & 0x0F) << 12) | ((utf8[index + 1] & 0x3Fu) << 6) | (utf8[index + 2] & 0x3Fu)];
        }

        length = 4;
        var codePoint = ((b & 0x07) << 18) | ((utf8[index + 1] & 0x3Fu) << 12) | ((utf8[index + 2] & 0x3Fu) << 6) | (utf8[index + 3] & 0x3Fu);
        return Classify((int)codePoint);
    }

    private static CharClass[] BuildBmp()
    {
        var table = new CharClass[0x10000];
        for (var c = 0; c < table.Length; c++)
        {
            table[c] = c is >= 0xD800 and <= 0xDFFF ? CharClass.None : Classify(c);
        }

        return table;
    }

    private static CharClass Classify(int codePoint)
    {
        var cls = CharUnicodeInfo.GetUnicodeCategory(codePoint) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.TitlecaseLetter => CharClass.Letter | CharClass.Upper,
            UnicodeCategory.LowercaseLetter => CharClass.Letter | CharClass.Lower,
            UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => CharClass.Letter | CharClass.Upper | CharClass.Lower,
            UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => CharClass.Upper | CharClass.Lower,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => CharClass.Number,
            _ => CharClass.None,
        };

        // char.IsWhiteSpace is exactly the White_Space property: Zs, Zl, Zp, U+0009-000D and U+0085.
        if (codePoint <= char.MaxValue && char.IsWhiteSpace((char)codePoint))
        {
            cls |= CharClass.Space;
        }

        if (codePoint is '\r' or '\n')
        {
            cls |= CharClass.Newline;
        }

        return cls;
    }
}

using System.Runtime.CompilerServices;

namespace LlmMiddleware.Tokenizers.Internal;

/// <summary>
/// Splits UTF-8 text into the pieces an encoding's split pattern matches, one piece at a time. Each implementation is
/// a hand-written equivalent of tiktoken's regex, evaluated with the regex's own leftmost-alternative, backtracking
/// semantics over code points (not UTF-16 units, so letters outside the BMP classify correctly).
/// </summary>
internal abstract class PreTokenizer
{
    /// <summary>The end (exclusive) of the piece that starts at <paramref name="start"/>; always after it.</summary>
    public abstract int PieceEnd(ReadOnlySpan<byte> text, int start);

    /// <summary>Where the ASCII letters of a word start when the piece at <paramref name="start"/> is one (a letter, or
    /// an ASCII character that may prefix a word followed by a letter): <paramref name="start"/> or the next byte; -1
    /// otherwise. ASCII words, most of code and of Latin-script prose, then take a tight loop.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static int AsciiWordStart(ReadOnlySpan<byte> text, int start)
    {
        var first = text[start];
        return IsAsciiLetter(first) ? start
            : first < 0x80 && CanPrefixWord(CharClasses.Ascii(first)) && start + 1 < text.Length && IsAsciiLetter(text[start + 1]) ? start + 1
            : -1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static bool IsAsciiLetter(byte b) => (uint)((b | 0x20) - 'a') < 26;

    /// <summary>The end of the run of characters in <paramref name="cls"/> that starts at <paramref name="end"/>.</summary>
    protected static int RunOf(ReadOnlySpan<byte> text, int end, CharClass cls)
    {
        while (end < text.Length && (CharClasses.At(text, end, out var length) & cls) != 0)
        {
            end += length;
        }

        return end;
    }

    /// <summary><c>\p{N}{1,3}</c>.</summary>
    protected static int NumberRun(ReadOnlySpan<byte> text, int start)
    {
        var end = start;
        for (var count = 0; count < 3 && end < text.Length && (CharClasses.At(text, end, out var length) & CharClass.Number) != 0; count++)
        {
            end += length;
        }

        return end;
    }

    /// <summary><c> ?[^\s\p{L}\p{N}]+[\r\n]*</c> (cl100k) or <c> ?[^\s\p{L}\p{N}]+[\r\n/]*</c> (o200k); -1 when it does not match.</summary>
    protected static int SymbolRun(ReadOnlySpan<byte> text, int start, CharClass first, bool slashes)
    {
        var end = start;
        if (text[start] == ' ' && start + 1 < text.Length && IsSymbol(CharClasses.At(text, start + 1, out _)))
        {
            end++;
        }
        else if (!IsSymbol(first))
        {
            return -1;
        }

        while (end < text.Length && IsSymbol(CharClasses.At(text, end, out var length)))
        {
            end += length;
        }

        while (end < text.Length && (text[end] is (byte)'\r' or (byte)'\n' || (slashes && text[end] == '/')))
        {
            end++;
        }

        return end;
    }

    /// <summary><c>\s*[\r\n]+|\s+(?!\S)|\s+</c> at a whitespace character.</summary>
    protected static int WhitespaceRun(ReadOnlySpan<byte> text, int start)
    {
        var end = start;
        var lastStart = start;
        var afterLastNewline = -1;
        while (end < text.Length)
        {
            var cls = CharClasses.At(text, end, out var length);
            if ((cls & CharClass.Space) == 0)
            {
                break;
            }

            lastStart = end;
            end += length;
            if ((cls & CharClass.Newline) != 0)
            {
                afterLastNewline = end;
            }
        }

        if (afterLastNewline > 0)
        {
            return afterLastNewline; // \s*[\r\n]+ backtracks to the last line break
        }

        // \s+(?!\S) leaves the last space for the word after it; a lone space before a word is \s+.
        return end == text.Length || lastStart == start ? end : lastStart;
    }

    /// <summary>The length of <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)</c> at <paramref name="at"/>, or 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static int ContractionLength(ReadOnlySpan<byte> text, int at)
    {
        if (at + 1 >= text.Length || text[at] != '\'')
        {
            return 0;
        }

        var next = text[at + 1];
        switch (next | 0x20)
        {
            case 's' or 't' or 'm' or 'd':
                return 2;
            case 'r' or 'v':
                return at + 2 < text.Length && (text[at + 2] | 0x20) == 'e' ? 3 : 0;
            case 'l':
                return at + 2 < text.Length && (text[at + 2] | 0x20) == 'l' ? 3 : 0;
        }

        // Unicode case folding makes U+017F LATIN SMALL LETTER LONG S match 's'.
        return next == 0xC5 && at + 2 < text.Length && text[at + 2] == 0xBF ? 3 : 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsSymbol(CharClass cls) => (cls & (CharClass.Space | CharClass.Letter | CharClass.Number)) == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static bool CanPrefixWord(CharClass cls) => (cls & (CharClass.Newline | CharClass.Letter | CharClass.Number)) == 0;
}

/// <summary>
/// cl100k_base: <c>(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
/// </summary>
internal sealed class Cl100kPreTokenizer : PreTokenizer
{
    public static readonly Cl100kPreTokenizer Instance = new();

    public override int PieceEnd(ReadOnlySpan<byte> text, int start)
    {
        var contraction = ContractionLength(text, start);
        if (contraction > 0)
        {
            return start + contraction;
        }

        // An ASCII word ends at the first byte that is no ASCII letter; at a non-ASCII one the general path decides.
        var word = AsciiWordStart(text, start);
        if (word >= 0)
        {
            var wordEnd = word + 1;
            while (wordEnd < text.Length && IsAsciiLetter(text[wordEnd]))
            {
                wordEnd++;
            }

            if (wordEnd == text.Length || text[wordEnd] < 0x80)
            {
                return wordEnd;
            }
        }

        var cls = CharClasses.At(text, start, out var length);
        if ((cls & CharClass.Letter) != 0)
        {
            return RunOf(text, start + length, CharClass.Letter);
        }

        if (CanPrefixWord(cls) && start + length < text.Length && (CharClasses.At(text, start + length, out var next) & CharClass.Letter) != 0)
        {
            return RunOf(text, start + length + next, CharClass.Letter);
        }

        if ((cls & CharClass.Number) != 0)
        {
            return NumberRun(text, start);
        }

        var end = SymbolRun(text, start, cls, slashes: false);
        return end > 0 ? end : WhitespaceRun(text, start);
    }
}

/// <summary>
/// o200k_base: <c>[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|...)?</c>, then the
/// same with the capitals required (<c>+</c>) and the lower case optional (<c>*</c>), then
/// <c>\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+</c>.
/// </summary>
internal sealed class O200kPreTokenizer : PreTokenizer
{
    public static readonly O200kPreTokenizer Instance = new();

    public override int PieceEnd(ReadOnlySpan<byte> text, int start)
    {
        var word = AsciiWordStart(text, start);
        if (word >= 0)
        {
            var end = AsciiWordEnd(text, word);
            if (end > 0)
            {
                return end;
            }
        }

        return GeneralPieceEnd(text, start);
    }

    /// <summary><c>[A-Z]*[a-z]+contraction?|[A-Z]+[a-z]*contraction?</c> from an ASCII letter at <paramref name="start"/>;
    /// -1 when a non-ASCII byte follows the letters (it may be a letter of the word).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int AsciiWordEnd(ReadOnlySpan<byte> text, int start)
    {
        var end = start;
        while (end < text.Length && (uint)(text[end] - 'A') < 26)
        {
            end++;
        }

        while (end < text.Length && (uint)(text[end] - 'a') < 26)
        {
            end++;
        }

        return end < text.Length && text[end] >= 0x80 ? -1 : end + ContractionLength(text, end);
    }

    private static int GeneralPieceEnd(ReadOnlySpan<byte> text, int start)
    {
        var cls = CharClasses.At(text, start, out var length);
        var prefixed = CanPrefixWord(cls) && start + length < text.Length;
        int end;

        // The optional prefix is tried first, then without it: they differ only for a combining mark, which can
        // both prefix a word and be part of one.
        if ((prefixed && (end = CapitalsThenLowerCase(text, start + length)) > 0) ||
            ((cls & (CharClass.Upper | CharClass.Lower)) != 0 && (end = CapitalsThenLowerCase(text, start)) > 0) ||
            (prefixed && (end = CapitalsRequired(text, start + length)) > 0) ||
            ((cls & CharClass.Upper) != 0 && (end = CapitalsRequired(text, start)) > 0))
        {
            return end;
        }

        if ((cls & CharClass.Number) != 0)
        {
            return NumberRun(text, start);
        }

        end = SymbolRun(text, start, cls, slashes: true);
        return end > 0 ? end : WhitespaceRun(text, start);
    }

    /// <summary><c>[Upper]*[Lower]+contraction?</c> from <paramref name="start"/>, or -1.</summary>
    private static int CapitalsThenLowerCase(ReadOnlySpan<byte> text, int start)
    {
        var end = start;
        var afterLastLower = -1;
        while (end < text.Length)
        {
            var cls = CharClasses.At(text, end, out var length);
            if ((cls & CharClass.Upper) == 0)
            {
                break;
            }

            end += length;
            if ((cls & CharClass.Lower) != 0)
            {
                afterLastLower = end;
            }
        }

        if (end < text.Length && (CharClasses.At(text, end, out var first) & CharClass.Lower) != 0)
        {
            end = RunOf(text, end + first, CharClass.Lower);
        }
        else if (afterLastLower > 0)
        {
            end = afterLastLower; // the capitals run backtracks to leave its last lower-case-class character to [Lower]+
        }
        else
        {
            return -1;
        }

        return end + ContractionLength(text, end);
    }

    /// <summary><c>[Upper]+[Lower]*contraction?</c> from <paramref name="start"/>, or -1.</summary>
    private static int CapitalsRequired(ReadOnlySpan<byte> text, int start)
    {
        var end = RunOf(text, start, CharClass.Upper);
        if (end == start)
        {
            return -1;
        }

        end = RunOf(text, end, CharClass.Lower);
        return end + ContractionLength(text, end);
    }
}

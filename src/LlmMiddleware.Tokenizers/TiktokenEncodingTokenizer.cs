using System.Buffers;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace LlmMiddleware.Tokenizers;

/// <summary>
/// A <see cref="TiktokenEncoding"/> as a Microsoft.ML.Tokenizers <see cref="Tokenizer"/>, so it plugs in wherever the
/// ecosystem's type is expected. Text is encoded as ordinary text (special-token text is not a special token: the safe
/// choice for untrusted input); there is no normalizer. Ids are identical to OpenAI's tiktoken.
/// </summary>
public sealed class TiktokenEncodingTokenizer : Tokenizer
{
    internal TiktokenEncodingTokenizer(TiktokenEncoding encoding) => Encoding = encoding;

    /// <summary>The encoding behind this tokenizer.</summary>
    public TiktokenEncoding Encoding { get; }

    /// <inheritdoc/>
    protected override EncodeResults<EncodedToken> EncodeToTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var span = text is null ? textSpan : text.AsSpan();
        var ids = Encoding.EncodeOrdinary(span);
        var (count, consumed) = Cut(span, ids, settings.MaxTokenCount, fromEnd: false);
        var tokens = new List<EncodedToken>(count);
        var cursor = new Utf8Cursor(span);
        for (var i = 0; i < count; i++)
        {
            var bytes = Encoding.TokenBytes(ids[i]);
            var start = cursor.Char;
            cursor.Advance(bytes.Length);
            tokens.Add(new EncodedToken(ids[i], System.Text.Encoding.UTF8.GetString(bytes), new Range(start, cursor.CharRoundedUp)));
        }

        return new EncodeResults<EncodedToken> { Tokens = tokens, CharsConsumed = consumed };
    }

    /// <inheritdoc/>
    protected override EncodeResults<int> EncodeToIds(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var span = text is null ? textSpan : text.AsSpan();
        var ids = Encoding.EncodeOrdinary(span);
        var (count, consumed) = Cut(span, ids, settings.MaxTokenCount, fromEnd: false);
        return new EncodeResults<int> { Tokens = count == ids.Length ? ids : ids[..count], CharsConsumed = consumed };
    }

    /// <inheritdoc/>
    protected override int CountTokens(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings)
    {
        var span = text is null ? textSpan : text.AsSpan();
        return settings.MaxTokenCount == int.MaxValue ? Encoding.CountTokens(span) : EncodeToIds(null, span, settings).Tokens.Count;
    }

    /// <inheritdoc/>
    protected override int GetIndexByTokenCount(string? text, ReadOnlySpan<char> textSpan, EncodeSettings settings, bool fromEnd, out string? normalizedText, out int tokenCount)
    {
        var span = text is null ? textSpan : text.AsSpan();
        normalizedText = null;
        var (count, consumed) = Cut(span, Encoding.EncodeOrdinary(span), settings.MaxTokenCount, fromEnd);
        tokenCount = count;
        return fromEnd ? span.Length - consumed : consumed;
    }

    /// <inheritdoc/>
    public override string Decode(IEnumerable<int> ids) => Encoding.Decode([.. ids]);

    /// <inheritdoc/>
    public override OperationStatus Decode(IEnumerable<int> ids, Span<char> destination, out int idsConsumed, out int charsWritten)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var decoder = System.Text.Encoding.UTF8.GetDecoder();
        idsConsumed = 0;
        charsWritten = 0;
        foreach (var id in ids)
        {
            var bytes = Encoding.TokenBytes(id);
            if (decoder.GetCharCount(bytes, flush: false) > destination.Length - charsWritten)
            {
                return OperationStatus.DestinationTooSmall;
            }

            charsWritten += decoder.GetChars(bytes, destination[charsWritten..], flush: false);
            idsConsumed++;
        }

        return OperationStatus.Done;
    }

    /// <summary>
    /// At most <paramref name="maxTokens"/> tokens from the start (or the end), never ending inside a character, and the
    /// number of characters they cover.
    /// </summary>
    private (int Count, int Chars) Cut(ReadOnlySpan<char> text, int[] ids, int maxTokens, bool fromEnd)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxTokens);
        if (maxTokens >= ids.Length)
        {
            return (ids.Length, text.Length);
        }

        // Byte offsets of the token boundaries; the cut moves inwards until it falls on a character boundary.
        var boundaries = new int[ids.Length + 1];
        for (var i = 0; i < ids.Length; i++)
        {
            boundaries[i + 1] = boundaries[i] + Encoding.TokenBytes(ids[i]).Length;
        }

        var cursor = new Utf8Cursor(text);
        if (!fromEnd)
        {
            var count = maxTokens;
            while (count > 0 && !cursor.IsBoundary(boundaries[count]))
            {
                count--;
            }

            cursor.Advance(boundaries[count]);
            return (count, cursor.Char);
        }

        var first = ids.Length - maxTokens;
        while (first < ids.Length && !cursor.IsBoundary(boundaries[first]))
        {
            first++;
        }

        cursor.Advance(boundaries[first]);
        return (ids.Length - first, text.Length - cursor.Char);
    }

    /// <summary>Walks a text's UTF-8 bytes, tracking the character index they have reached.</summary>
    private ref struct Utf8Cursor(ReadOnlySpan<char> text)
    {
        private readonly ReadOnlySpan<char> _text = text;
        private int _byte;
        private int _charStartByte;

        /// <summary>The index of the character the cursor is in (or at the start of).</summary>
        public int Char { get; private set; }

        /// <summary>The index just past the character the cursor is in: a token ending inside a character covers all of it.</summary>
        public readonly int CharRoundedUp => _byte == _charStartByte ? Char : Char + CharLength(Char);

        public void Advance(int bytes)
        {
            _byte += bytes;
            while (Char < _text.Length)
            {
                var length = Utf8Length(Char);
                if (_charStartByte + length > _byte)
                {
                    break;
                }

                _charStartByte += length;
                Char += CharLength(Char);
            }
        }

        /// <summary>Whether the absolute byte offset <paramref name="at"/> falls between two characters.</summary>
        public readonly bool IsBoundary(int at)
        {
            var copy = new Utf8Cursor(_text);
            copy.Advance(at);
            return copy._byte == copy._charStartByte;
        }

        private readonly int CharLength(int index) =>
            char.IsHighSurrogate(_text[index]) && index + 1 < _text.Length && char.IsLowSurrogate(_text[index + 1]) ? 2 : 1;

        private readonly int Utf8Length(int index) => _text[index] switch
        {
            < (char)0x80 => 1,
            < (char)0x800 => 2,
            _ when CharLength(index) == 2 => 4,
            _ => 3,
        };
    }
}

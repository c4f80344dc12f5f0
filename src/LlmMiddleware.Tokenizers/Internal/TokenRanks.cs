using System.Buffers.Binary;
using System.Buffers.Text;
using System.IO.Compression;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace LlmMiddleware.Tokenizers.Internal;

/// <summary>
/// The mergeable ranks of an encoding: token bytes to rank (an open-addressing table keyed by span, so a look-up
/// allocates nothing) and rank to bytes for decoding. Tokens of up to 8 bytes (nearly every merge step) are kept packed
/// in their slot, so such a look-up reads one slot and never the byte arena.
/// </summary>
internal sealed class TokenRanks
{
    public const int NotFound = -1;

    private readonly byte[] _arena;
    private readonly int[] _offsets; // token r is _arena[_offsets[r].._offsets[r + 1]]
    private readonly Slot[] _slots;
    private readonly int _mask;
    private readonly int[] _pairRanks; // rank of every two-byte token, indexed by first * 256 + second; NotFound if none

    private TokenRanks(byte[] arena, int[] offsets)
    {
        _arena = arena;
        _offsets = offsets;
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Count * 2);
        _slots = new Slot[capacity];
        _mask = capacity - 1;
        for (var rank = 0; rank < Count; rank++)
        {
            var bytes = TokenBytes(rank);
            var slot = (int)Hash(bytes) & _mask;
            while (_slots[slot].RankPlusOne != 0)
            {
                slot = (slot + 1) & _mask;
            }

            _slots[slot] = new Slot { Packed = bytes.Length <= 8 ? Pack(bytes) : 0, RankPlusOne = rank + 1, Length = bytes.Length };
        }

        // Every merge starts from byte pairs, so they get a direct table instead of a hash look-up.
        _pairRanks = new int[256 * 256];
        for (var pair = 0; pair < _pairRanks.Length; pair++)
        {
            _pairRanks[pair] = Rank([(byte)(pair >> 8), (byte)pair]);
        }
    }

    /// <summary>The number of mergeable tokens; their ranks are 0 to <c>Count - 1</c>.</summary>
    public int Count => _offsets.Length - 1;

    /// <summary>Reads a Brotli-compressed <c>.tiktoken</c> file (lines of <c>base64(bytes) rank</c>, ranks 0, 1, 2, ...).</summary>
    public static TokenRanks Load(Stream compressed)
    {
        using var brotli = new BrotliStream(compressed, CompressionMode.Decompress);
        using var text = new MemoryStream();
        brotli.CopyTo(text);
        return Parse(text.GetBuffer().AsSpan(0, (int)text.Length));
    }

    public static TokenRanks Parse(ReadOnlySpan<byte> file)
    {
        var arena = new byte[file.Length]; // base64 is longer than what it encodes
        var used = 0;
        var offsets = new List<int>(file.Length / 12) { 0 };
        while (!file.IsEmpty)
        {
            var lineEnd = file.IndexOf((byte)'\n');
            var line = lineEnd < 0 ? file : file[..lineEnd];
            file = lineEnd < 0 ? default : file[(lineEnd + 1)..];
            if (line.IsEmpty)
            {
                continue;
            }

            var space = line.IndexOf((byte)' ');
            if (space <= 0 || !System.Buffers.Text.Utf8Parser.TryParse(line[(space + 1)..], out int rank, out _) || rank != offsets.Count - 1 ||
                Base64.DecodeFromUtf8(line[..space], arena.AsSpan(used), out _, out var written) != System.Buffers.OperationStatus.Done)
            {
                throw new InvalidDataException($"Malformed rank file at rank {offsets.Count - 1}.");
            }

            used += written;
            offsets.Add(used);
        }

        Array.Resize(ref arena, used);
        return new TokenRanks(arena, [.. offsets]);
    }

    /// <summary>The bytes of the token with <paramref name="rank"/>.</summary>
    public ReadOnlySpan<byte> TokenBytes(int rank) => _arena.AsSpan(_offsets[rank], _offsets[rank + 1] - _offsets[rank]);

    /// <summary>The rank of the two bytes <paramref name="first"/> and <paramref name="second"/>, or <see cref="NotFound"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int PairRank(byte first, byte second) => _pairRanks[(first << 8) | second];

    /// <summary>The rank of <paramref name="bytes"/>, or <see cref="NotFound"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Rank(ReadOnlySpan<byte> bytes) => Rank(bytes, Hash(bytes));

    /// <summary>The rank of <paramref name="bytes"/> whose <see cref="Hash"/> is <paramref name="hash"/>, or <see cref="NotFound"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Rank(ReadOnlySpan<byte> bytes, uint hash)
    {
        var length = bytes.Length;
        var packed = length <= 8 ? Pack(bytes) : 0;
        var slot = (int)hash & _mask;
        while (true)
        {
            ref readonly var entry = ref _slots[slot];
            if (entry.RankPlusOne == 0)
            {
                return NotFound;
            }

            if (entry.Length == length &&
                (length <= 8 ? entry.Packed == packed : _arena.AsSpan(_offsets[entry.RankPlusOne - 1], length).SequenceEqual(bytes)))
            {
                return entry.RankPlusOne - 1;
            }

            slot = (slot + 1) & _mask;
        }
    }

    /// <summary>A fast hash of short byte strings: up to 8 bytes are packed into one word; longer ones are read a word at
    /// a time, the last word overlapping the end; then mixed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ReadOnlySpan<byte> bytes)
    {
        var length = bytes.Length;
        ulong value;
        if (length <= 8)
        {
            value = Pack(bytes) ^ ((ulong)length << 59);
        }
        else
        {
            value = (ulong)length;
            var i = 0;
            for (; i + 8 <= length; i += 8)
            {
                value = BitOperations.RotateLeft((value ^ BinaryPrimitives.ReadUInt64LittleEndian(bytes[i..])) * 0x9E3779B97F4A7C15UL, 31);
            }

            if (i < length)
            {
                value ^= BinaryPrimitives.ReadUInt64LittleEndian(bytes[(length - 8)..]) * 0xC2B2AE3D27D4EB4FUL;
            }
        }

        value *= 0x9E3779B97F4A7C15UL;
        return (uint)(value >> 32) ^ (uint)value;
    }

    /// <summary>Up to 8 bytes as one little-endian word, zero-padded: with the length, equal words mean equal bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Pack(ReadOnlySpan<byte> bytes)
    {
        var length = bytes.Length;
        if (length == 8)
        {
            return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        }

        if (length >= 4)
        {
            // Two overlapping reads; the overlap holds the same bytes in both, so OR-ing them is exact.
            return BinaryPrimitives.ReadUInt32LittleEndian(bytes) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(bytes[(length - 4)..]) << ((length - 4) * 8));
        }

        return length switch
        {
            3 => bytes[0] | ((ulong)bytes[1] << 8) | ((ulong)bytes[2] << 16),
            2 => bytes[0] | ((ulong)bytes[1] << 8),
            1 => bytes[0],
            _ => 0,
        };
    }

    private struct Slot
    {
        public ulong Packed;     // the token's bytes when it has at most 8
        public int RankPlusOne;  // 0 = empty
        public int Length;
    }
}

using System.Buffers.Binary;
using System.Buffers.Text;
using System.IO.Compression;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace LlmMiddleware.Tokenizers.Internal;

/// <summary>
/// The mergeable ranks of an encoding: token bytes to rank and rank to bytes. The index is an open-addressing table of
/// 4-byte slots (rank and a hash fingerprint: 2 MB for o200k_base, so most probes hit a cache); tokens of up to 8 bytes (nearly
/// every look-up) are then confirmed against one word per rank and never against the byte arena. Look-ups take spans
/// of valid UTF-8 (pieces of text and their parts), which never hold the bytes 0xF8–0xFF.
/// </summary>
internal sealed class TokenRanks
{
    public const int NotFound = -1;

    /// <summary>The key of tokens no short look-up can match: longer than 8 bytes, or holding a byte valid UTF-8 never
    /// has (a look-up key of 8 bytes has no 0xFF byte; one of up to 7 has its length in a top byte of 0xF9–0xFF and valid
    /// UTF-8 below it).</summary>
    private const ulong Unmatchable = ulong.MaxValue;

    private readonly byte[] _arena;
    private readonly int[] _offsets; // token r is _arena[_offsets[r].._offsets[r + 1]]
    private readonly ulong[] _shortKeys; // by rank: ShortKey, or Unmatchable
    private readonly uint[] _index; // (rank + 1) << _fingerprintBits | fingerprint; 0 = empty
    private readonly int _mask;
    private readonly int _fingerprintBits;
    private readonly int[] _byteRanks = new int[256]; // rank of every one-byte token
    private readonly int[] _pairRanks = new int[256 * 256]; // rank of every two-byte token by first * 256 + second, or NotFound

    private TokenRanks(byte[] arena, int[] offsets)
    {
        _arena = arena;
        _offsets = offsets;
        _shortKeys = new ulong[Count];
        Array.Fill(_pairRanks, NotFound);

        // Load factor ~0.4; the fingerprint (hash bits the slot number does not use) rejects nearly every other token
        // in a probe without reading anything else.
        var capacity = (int)BitOperations.RoundUpToPowerOf2((uint)(Count + Count / 3));
        _index = new uint[capacity];
        _mask = capacity - 1;
        _fingerprintBits = BitOperations.LeadingZeroCount((uint)Count + 1);
        for (var rank = 0; rank < Count; rank++)
        {
            var bytes = TokenBytes(rank);
            _shortKeys[rank] = bytes.Length <= 8 && bytes.IndexOfAnyInRange((byte)0xF8, (byte)0xFF) < 0 ? ShortKey(bytes) : Unmatchable;
            var hash = Hash(bytes);
            var slot = (int)hash & _mask;
            while (_index[slot] != 0)
            {
                slot = (slot + 1) & _mask;
            }

            _index[slot] = ((uint)(rank + 1) << _fingerprintBits) | Fingerprint(hash);
            switch (bytes.Length)
            {
                case 1: _byteRanks[bytes[0]] = rank; break;
                case 2: _pairRanks[(bytes[0] << 8) | bytes[1]] = rank; break;
            }
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

    /// <summary>The rank of the one-byte token <paramref name="value"/> (every byte is one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ByteRank(byte value) => _byteRanks[value];

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
        var fingerprint = Fingerprint(hash);
        var fingerprintMask = (1u << _fingerprintBits) - 1;
        var slot = (int)hash & _mask;
        if (bytes.Length <= 8)
        {
            var key = ShortKey(bytes);
            while (true)
            {
                var entry = _index[slot];
                if (entry == 0)
                {
                    return NotFound;
                }

                if ((entry & fingerprintMask) == fingerprint && _shortKeys[(int)(entry >> _fingerprintBits) - 1] == key)
                {
                    return (int)(entry >> _fingerprintBits) - 1;
                }

                slot = (slot + 1) & _mask;
            }
        }

        while (true)
        {
            var entry = _index[slot];
            if (entry == 0)
            {
                return NotFound;
            }

            if ((entry & fingerprintMask) == fingerprint)
            {
                var rank = (int)(entry >> _fingerprintBits) - 1;
                var offset = _offsets[rank];
                if (_offsets[rank + 1] - offset == bytes.Length && _arena.AsSpan(offset, bytes.Length).SequenceEqual(bytes))
                {
                    return rank;
                }
            }

            slot = (slot + 1) & _mask;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint Fingerprint(uint hash) => hash >> (32 - _fingerprintBits);

    /// <summary>Up to 8 bytes in one word; fewer than 8 with 0xF8 + their count in the top byte: equal keys mean
    /// equal bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ShortKey(ReadOnlySpan<byte> bytes) =>
        bytes.Length == 8 ? Pack(bytes) : Pack(bytes) | ((ulong)(0xF8 + bytes.Length) << 56);

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
}

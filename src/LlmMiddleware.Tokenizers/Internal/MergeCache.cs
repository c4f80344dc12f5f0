using System.Runtime.CompilerServices;

namespace LlmMiddleware.Tokenizers.Internal;

/// <summary>
/// Remembers the merge result of recent pieces that are not tokens themselves (identifiers in code, rare words), which
/// repeat within a text. Direct-mapped and lock-free: a slot holds one immutable entry and a newer piece simply replaces
/// it, so concurrent encoders never block and a lost race costs only a recomputation.
/// </summary>
internal sealed class MergeCache
{
    /// <summary>Longer pieces are rare and seldom repeat; they are not cached.</summary>
    public const int MaxPieceLength = 64;

    private const int Slots = 4096;
    private readonly Entry?[] _entries = new Entry?[Slots];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int[]? Find(ReadOnlySpan<byte> piece, uint hash)
    {
        var entry = Volatile.Read(ref _entries[hash & (Slots - 1)]);
        return entry is not null && piece.SequenceEqual(entry.Piece) ? entry.Tokens : null;
    }

    public void Add(ReadOnlySpan<byte> piece, uint hash, int[] tokens) =>
        Volatile.Write(ref _entries[hash & (Slots - 1)], new Entry(piece.ToArray(), tokens));

    /// <summary>Forgets every entry (benchmarks measure the cold path with it).</summary>
    public void Clear() => Array.Clear(_entries);

    private sealed record Entry(byte[] Piece, int[] Tokens);
}

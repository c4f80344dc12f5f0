using System.Buffers;

namespace LlmMiddleware.Tokenizers.Internal;

/// <summary>Receives token ids; a struct so the encoder is specialised for counting and for collecting.</summary>
internal interface ITokenSink
{
    void Add(int token);
}

/// <summary>Counts tokens without storing them.</summary>
internal struct CountingSink : ITokenSink
{
    public int Count;

    public void Add(int token) => Count++;
}

/// <summary>Appends tokens to a list.</summary>
internal readonly struct ListSink(List<int> tokens) : ITokenSink
{
    public void Add(int token) => tokens.Add(token);
}

/// <summary>
/// tiktoken's byte-pair merge of one piece: repeatedly merge the adjacent pair whose concatenation has the lowest rank,
/// the leftmost on ties, until no pair is a token.
/// </summary>
internal static class BytePairMerger
{
    /// <summary>Up to this length the quadratic scan over a stack array is fastest; beyond it a heap keeps long pieces
    /// (a run of thousands of letters) from going quadratic.</summary>
    private const int ScanLimit = 128;

    public static void Merge<TSink>(ReadOnlySpan<byte> piece, TokenRanks ranks, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        if (piece.Length <= ScanLimit)
        {
            MergeByScan(piece, ranks, ref sink);
        }
        else
        {
            MergeByHeap(piece, ranks, ref sink);
        }
    }

    private static void MergeByScan<TSink>(ReadOnlySpan<byte> piece, TokenRanks ranks, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        // Boundaries 0..n; pairRanks[i] is the rank of the bytes from boundary i to boundary i + 2.
        var boundaries = piece.Length + 1;
        Span<int> starts = stackalloc int[boundaries];
        Span<int> pairRanks = stackalloc int[boundaries];
        for (var i = 0; i < boundaries; i++)
        {
            starts[i] = i;
            var pairRank = i + 2 < boundaries ? ranks.PairRank(piece[i], piece[i + 1]) : TokenRanks.NotFound;
            pairRanks[i] = pairRank < 0 ? int.MaxValue : pairRank;
        }

        while (boundaries > 2)
        {
            var best = int.MaxValue;
            var at = -1;
            for (var i = 0; i < boundaries - 2; i++)
            {
                if (pairRanks[i] < best)
                {
                    best = pairRanks[i];
                    at = i;
                }
            }

            if (at < 0)
            {
                break;
            }

            // Drop boundary at + 1: tokens at and at + 1 become one.
            for (var j = at + 1; j < boundaries - 1; j++)
            {
                starts[j] = starts[j + 1];
                pairRanks[j] = pairRanks[j + 1];
            }

            boundaries--;
            pairRanks[at] = at + 2 < boundaries ? RankOrMax(ranks, piece[starts[at]..starts[at + 2]]) : int.MaxValue;
            if (at > 0)
            {
                pairRanks[at - 1] = RankOrMax(ranks, piece[starts[at - 1]..starts[at + 1]]);
            }
        }

        for (var i = 0; i < boundaries - 1; i++)
        {
            sink.Add(ranks.Rank(piece[starts[i]..starts[i + 1]]));
        }
    }

    private static void MergeByHeap<TSink>(ReadOnlySpan<byte> piece, TokenRanks ranks, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        // Tokens form a linked list indexed by their first byte (a token's start never moves: the left one absorbs the
        // right). A min-heap holds candidate pairs by (rank, position); a pair whose tokens changed since it was pushed
        // is stale. Every array is pooled: a merge allocates nothing, so long pieces never cost a collection.
        var length = piece.Length;
        var next = ArrayPool<int>.Shared.Rent(length);
        var prev = ArrayPool<int>.Shared.Rent(length);
        var version = ArrayPool<int>.Shared.Rent(length);
        var heap = new PairHeap(3 * length); // n - 1 pairs at first, at most two more per merge
        try
        {
            for (var i = 0; i < length; i++)
            {
                next[i] = i + 1;
                prev[i] = i - 1;
                version[i] = 0;
            }

            for (var i = 0; i + 1 < length; i++)
            {
                Push(piece, ranks, ref heap, next, version, i);
            }

            while (heap.TryPop(out var pair))
            {
                var right = next[pair.Left];
                if (version[pair.Left] != pair.LeftVersion || right >= length || version[right] != pair.RightVersion)
                {
                    continue;
                }

                var after = next[right];
                next[pair.Left] = after;
                if (after < length)
                {
                    prev[after] = pair.Left;
                }

                version[pair.Left]++;
                version[right]++;
                Push(piece, ranks, ref heap, next, version, pair.Left);
                if (prev[pair.Left] >= 0)
                {
                    Push(piece, ranks, ref heap, next, version, prev[pair.Left]);
                }
            }

            for (var i = 0; i < length; i = next[i])
            {
                sink.Add(ranks.Rank(piece[i..next[i]]));
            }
        }
        finally
        {
            heap.Dispose();
            ArrayPool<int>.Shared.Return(next);
            ArrayPool<int>.Shared.Return(prev);
            ArrayPool<int>.Shared.Return(version);
        }
    }

    private static void Push(ReadOnlySpan<byte> piece, TokenRanks ranks, ref PairHeap heap, int[] next, int[] version, int left)
    {
        var right = next[left];
        if (right < piece.Length)
        {
            var rank = ranks.Rank(piece[left..next[right]]);
            if (rank >= 0)
            {
                heap.Push(new Pair(((long)rank << 32) | (uint)left, left, version[left], version[right]));
            }
        }
    }

    private static int RankOrMax(TokenRanks ranks, ReadOnlySpan<byte> bytes)
    {
        var rank = ranks.Rank(bytes);
        return rank < 0 ? int.MaxValue : rank;
    }
}

using System.Buffers;
using System.Runtime.CompilerServices;

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
    private const int ScanLimit = 32;

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

    [SkipLocalsInit] // the arrays are written before they are read
    private static void MergeByScan<TSink>(ReadOnlySpan<byte> piece, TokenRanks ranks, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        // Token i is piece[starts[i]..starts[i + 1]] with rank tokens[i]; pairs[i] is the rank of tokens i and i + 1
        // merged, int.MaxValue when that is not a token. A merge removes entry i + 1 from each array.
        var count = piece.Length;
        Span<int> starts = stackalloc int[ScanLimit + 1];
        Span<int> tokens = stackalloc int[ScanLimit];
        Span<int> pairs = stackalloc int[ScanLimit];
        for (var i = 0; i < count; i++)
        {
            starts[i] = i;
            tokens[i] = ranks.ByteRank(piece[i]);
            pairs[i] = i + 1 < count ? OrMax(ranks.PairRank(piece[i], piece[i + 1])) : int.MaxValue;
        }

        starts[count] = count;
        while (count > 1)
        {
            var best = int.MaxValue;
            var at = -1;
            for (var i = 0; i < count - 1; i++)
            {
                if (pairs[i] < best)
                {
                    best = pairs[i];
                    at = i;
                }
            }

            if (at < 0)
            {
                break;
            }

            tokens[at] = best;
            count--;
            for (var j = at + 1; j < count; j++)
            {
                starts[j] = starts[j + 1];
                tokens[j] = tokens[j + 1];
                pairs[j] = pairs[j + 1];
            }

            starts[count] = starts[count + 1];
            pairs[at] = at + 1 < count ? OrMax(ranks.Rank(piece[starts[at]..starts[at + 2]])) : int.MaxValue;
            if (at > 0)
            {
                pairs[at - 1] = OrMax(ranks.Rank(piece[starts[at - 1]..starts[at + 1]]));
            }
        }

        for (var i = 0; i < count; i++)
        {
            sink.Add(tokens[i]);
        }
    }

    private static void MergeByHeap<TSink>(ReadOnlySpan<byte> piece, TokenRanks ranks, ref TSink sink)
        where TSink : struct, ITokenSink
    {
        // Tokens form a linked list indexed by their first byte (a token's start never moves: the left one absorbs the
        // right). pairs[i] is the rank of token i merged with the next one (NotFound if that is no token, or token i is
        // gone); a popped candidate is current only if it still matches: a pair's bytes only grow, so its rank never
        // comes back. Every array is pooled: a merge allocates nothing, so long pieces never cost a collection.
        var length = piece.Length;
        var next = ArrayPool<int>.Shared.Rent(length);
        var prev = ArrayPool<int>.Shared.Rent(length);
        var tokens = ArrayPool<int>.Shared.Rent(length);
        var pairs = ArrayPool<int>.Shared.Rent(length);
        var heap = new CandidateHeap(3 * length); // n - 1 pairs at first, at most two more per merge
        try
        {
            for (var i = 0; i < length; i++)
            {
                next[i] = i + 1;
                prev[i] = i - 1;
                tokens[i] = ranks.ByteRank(piece[i]);
                pairs[i] = i + 1 < length ? ranks.PairRank(piece[i], piece[i + 1]) : TokenRanks.NotFound;
                if (pairs[i] >= 0)
                {
                    heap.Push(CandidateHeap.Candidate(pairs[i], i));
                }
            }

            while (heap.TryPop(out var rank, out var left))
            {
                if (pairs[left] != rank)
                {
                    continue;
                }

                var right = next[left];
                var after = next[right];
                tokens[left] = rank;
                pairs[right] = TokenRanks.NotFound;
                next[left] = after;
                if (after < length)
                {
                    prev[after] = left;
                }

                Pair(piece, ranks, ref heap, pairs, left, after < length ? next[after] : -1);
                if (prev[left] >= 0)
                {
                    Pair(piece, ranks, ref heap, pairs, prev[left], after);
                }
            }

            for (var i = 0; i < length; i = next[i])
            {
                sink.Add(tokens[i]);
            }
        }
        finally
        {
            heap.Dispose();
            ArrayPool<int>.Shared.Return(next);
            ArrayPool<int>.Shared.Return(prev);
            ArrayPool<int>.Shared.Return(tokens);
            ArrayPool<int>.Shared.Return(pairs);
        }
    }

    /// <summary>Sets the pair of the token at <paramref name="left"/> to the bytes up to <paramref name="end"/> (-1: no
    /// next token) and offers it as a candidate if it is a token.</summary>
    private static void Pair(ReadOnlySpan<byte> piece, TokenRanks ranks, ref CandidateHeap heap, int[] pairs, int left, int end)
    {
        var rank = end < 0 ? TokenRanks.NotFound : ranks.Rank(piece[left..end]);
        pairs[left] = rank;
        if (rank >= 0)
        {
            heap.Push(CandidateHeap.Candidate(rank, left));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int OrMax(int rank) => rank < 0 ? int.MaxValue : rank;
}

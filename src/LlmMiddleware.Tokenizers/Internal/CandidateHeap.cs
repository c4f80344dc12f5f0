using System.Buffers;

namespace LlmMiddleware.Tokenizers.Internal;

/// <summary>
/// A binary min-heap of candidate merges on a pooled array, each one word: the pair's rank in the high half and its
/// left token's position in the low half, so the order is tiktoken's (lowest rank, then leftmost).
/// </summary>
internal struct CandidateHeap(int capacity) : IDisposable
{
    private readonly ulong[] _items = ArrayPool<ulong>.Shared.Rent(capacity);
    private int _count;

    public static ulong Candidate(int rank, int left) => ((ulong)(uint)rank << 32) | (uint)left;

    public void Push(ulong candidate)
    {
        var items = _items;
        var i = _count++;
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (items[parent] <= candidate)
            {
                break;
            }

            items[i] = items[parent];
            i = parent;
        }

        items[i] = candidate;
    }

    public bool TryPop(out int rank, out int left)
    {
        if (_count == 0)
        {
            rank = left = 0;
            return false;
        }

        var items = _items;
        var top = items[0];
        var last = items[--_count];
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && items[child + 1] < items[child])
            {
                child++;
            }

            if (last <= items[child])
            {
                break;
            }

            items[i] = items[child];
            i = child;
        }

        items[i] = last;
        rank = (int)(top >> 32);
        left = (int)(uint)top;
        return true;
    }

    public readonly void Dispose() => ArrayPool<ulong>.Shared.Return(_items);
}

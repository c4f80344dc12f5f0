using System.Buffers;

namespace LlmMiddleware.Tokenizers.Internal;

/// <summary>A candidate merge: its order (rank, then position: tiktoken merges the leftmost of equal ranks first),
/// its left token and both tokens' versions when it was pushed.</summary>
internal readonly record struct Pair(long Order, int Left, int LeftVersion, int RightVersion);

/// <summary>A binary min-heap of pairs on a pooled array.</summary>
internal struct PairHeap(int capacity) : IDisposable
{
    private readonly Pair[] _items = ArrayPool<Pair>.Shared.Rent(capacity);
    private int _count;

    public void Push(Pair pair)
    {
        var i = _count++;
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (_items[parent].Order <= pair.Order)
            {
                break;
            }

            _items[i] = _items[parent];
            i = parent;
        }

        _items[i] = pair;
    }

    public bool TryPop(out Pair pair)
    {
        if (_count == 0)
        {
            pair = default;
            return false;
        }

        pair = _items[0];
        var last = _items[--_count];
        var i = 0;
        while (true)
        {
            var child = (2 * i) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && _items[child + 1].Order < _items[child].Order)
            {
                child++;
            }

            if (last.Order <= _items[child].Order)
            {
                break;
            }

            _items[i] = _items[child];
            i = child;
        }

        if (_count > 0)
        {
            _items[i] = last;
        }

        return true;
    }

    public readonly void Dispose() => ArrayPool<Pair>.Shared.Return(_items);
}

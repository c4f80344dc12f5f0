using System.Numerics.Tensors;

namespace LlmMiddleware.Caching.Semantic;

/// <summary>
/// The vectors of one semantic cache partition, unit length so a dot product is the cosine similarity. Small
/// partitions are scanned flat (SIMD dot products). Beyond the index threshold an approximate index takes over: each
/// vector also gets a short sketch (a fixed random projection), the sketches are clustered, and a lookup scans only the
/// clusters nearest the query's sketch, then re-ranks the best sketch matches by their full vectors, so the reported
/// similarity is always exact. Lookups share a read lock; adds and index swaps take the write lock.
/// </summary>
internal sealed class VectorPartition(int dimensions, int indexThreshold)
{
    private const int Rerank = 16;

    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    // Sized for one entry and doubled as it grows: most partitions (one per system prompt and tenant) hold one or two.
    private float[] _vectors = new float[dimensions];
    private SemanticSlot?[] _slots = new SemanticSlot?[1];
    private int _count;
    private int _live;
    private ClusterIndex? _index;
    private int _indexBuilding;
    private int _layout;

    /// <summary>The partition's key in the semantic cache.</summary>
    public string Key { get; init; } = "";

    public int Dimensions { get; } = dimensions;

    public int Count => Volatile.Read(ref _live);

    public bool IsIndexed => _index is not null;

    /// <summary>Completed when an index is first swapped in (built off the request path); for tests to wait on.</summary>
    internal Task FirstIndexed => _firstIndexed.Task;

    private readonly TaskCompletionSource _firstIndexed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Adds a unit vector; returns its slot (for eviction).</summary>
    public SemanticSlot Add(float[] vector, LlmCacheEntry entry, long expiresAt, Guid id)
    {
        var slot = new SemanticSlot(this, entry, expiresAt, id);
        var buildIndex = false;
        _lock.EnterWriteLock();
        try
        {
            if (_count == _slots.Length)
            {
                Array.Resize(ref _slots, _count * 2);
                Array.Resize(ref _vectors, _slots.Length * Dimensions);
            }

            slot.Position = _count;
            vector.CopyTo(_vectors.AsSpan(_count * Dimensions, Dimensions));
            _slots[_count] = slot;
            if (_index is { } index)
            {
                Span<float> sketch = stackalloc float[ClusterIndex.SketchDimensions];
                index.Projection.Sketch(vector, sketch);
                index.Assign(_count, sketch);
            }

            _count++;
            _live++;
            buildIndex = _live >= indexThreshold && (_index is null || _count >= 2 * _index.BuiltAt) && Interlocked.Exchange(ref _indexBuilding, 1) == 0;
        }
        finally
        {
            _lock.ExitWriteLock();
        }

        if (buildIndex)
        {
            _ = Task.Run(BuildIndex);
        }

        return slot;
    }

    /// <summary>The most similar live entry at or above <paramref name="threshold"/>, if any.</summary>
    public (LlmCacheEntry Entry, float Similarity)? Find(ReadOnlySpan<float> query, float threshold, long now)
    {
        _lock.EnterReadLock();
        try
        {
            return _index is { } index ? FindIndexed(index, query, threshold, now) : FindFlat(query, threshold, now);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>Forgets a slot (evicted or expired); its space is reclaimed when the partition compacts.</summary>
    public void Remove(SemanticSlot slot)
    {
        _lock.EnterWriteLock();
        try
        {
            if (slot.Position >= 0 && ReferenceEquals(_slots[slot.Position], slot))
            {
                _slots[slot.Position] = null;
                _live--;
                slot.Position = -1;
                if (_live < _count / 2 && _count > 64)
                {
                    Compact();
                }
            }
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    private (LlmCacheEntry, float)? FindFlat(ReadOnlySpan<float> query, float threshold, long now)
    {
        SemanticSlot? best = null;
        var bestScore = threshold;
        var vectors = _vectors.AsSpan();
        for (var i = 0; i < _count; i++)
        {
            var score = TensorPrimitives.Dot(query, vectors.Slice(i * Dimensions, Dimensions));
            if (score >= bestScore && _slots[i] is { } slot && slot.ExpiresAt > now)
            {
                best = slot;
                bestScore = score;
            }
        }

        return best is null ? null : (best.Entry, bestScore);
    }

    private (LlmCacheEntry, float)? FindIndexed(ClusterIndex index, ReadOnlySpan<float> query, float threshold, long now)
    {
        Span<float> sketch = stackalloc float[ClusterIndex.SketchDimensions];
        index.Projection.Sketch(query, sketch);
        Span<int> candidates = stackalloc int[Rerank];
        Span<float> candidateScores = stackalloc float[Rerank];
        var found = index.Nearest(sketch, candidates, candidateScores);

        SemanticSlot? best = null;
        var bestScore = threshold;
        for (var i = 0; i < found; i++)
        {
            var position = candidates[i];
            var score = TensorPrimitives.Dot(query, _vectors.AsSpan(position * Dimensions, Dimensions));
            if (score >= bestScore && _slots[position] is { } slot && slot.ExpiresAt > now)
            {
                best = slot;
                bestScore = score;
            }
        }

        return best is null ? null : (best.Entry, bestScore);
    }

    /// <summary>Clusters a copy of the sketches off the request path, then swaps the index in.</summary>
    private void BuildIndex()
    {
        var stale = false;
        try
        {
            float[] vectors;
            int count;
            int layout;
            _lock.EnterReadLock();
            try
            {
                layout = _layout;
                count = _count;
                vectors = _vectors.AsSpan(0, count * Dimensions).ToArray();
            }
            finally
            {
                _lock.ExitReadLock();
            }

            var projection = _index?.Projection ?? new RandomProjection(Dimensions);
            var sketches = new float[count * ClusterIndex.SketchDimensions];
            for (var i = 0; i < count; i++)
            {
                projection.Sketch(vectors.AsSpan(i * Dimensions, Dimensions), sketches.AsSpan(i * ClusterIndex.SketchDimensions, ClusterIndex.SketchDimensions));
            }

            var index = ClusterIndex.Build(projection, sketches, count);
            _lock.EnterWriteLock();
            try
            {
                // A compaction moved the vectors while clustering: this index points at old positions.
                stale = layout != _layout;
                if (stale)
                {
                    return;
                }

                // Vectors added while clustering are sketched and assigned now.
                var sketch = new float[ClusterIndex.SketchDimensions];
                for (var i = count; i < _count; i++)
                {
                    projection.Sketch(_vectors.AsSpan(i * Dimensions, Dimensions), sketch);
                    index.Assign(i, sketch);
                }

                _index = index;
            }
            finally
            {
                _lock.ExitWriteLock();
            }

            _firstIndexed.TrySetResult();
        }
        finally
        {
            Volatile.Write(ref _indexBuilding, 0);
            if (stale && Count >= indexThreshold && Interlocked.Exchange(ref _indexBuilding, 1) == 0)
            {
                _ = Task.Run(BuildIndex);
            }
        }
    }

    /// <summary>Drops removed slots (under the write lock); the index is rebuilt over what is left.</summary>
    private void Compact()
    {
        var write = 0;
        for (var read = 0; read < _count; read++)
        {
            if (_slots[read] is not { } slot)
            {
                continue;
            }

            if (write != read)
            {
                _vectors.AsSpan(read * Dimensions, Dimensions).CopyTo(_vectors.AsSpan(write * Dimensions, Dimensions));
                _slots[write] = slot;
                slot.Position = write;
            }

            write++;
        }

        Array.Clear(_slots, write, _count - write);
        _count = write;
        _layout++;
        _index = null;
        if (_count >= indexThreshold && Interlocked.Exchange(ref _indexBuilding, 1) == 0)
        {
            _ = Task.Run(BuildIndex);
        }
    }
}

/// <summary>One entry of a partition: what to replay, until when, and where it sits.</summary>
internal sealed class SemanticSlot(VectorPartition partition, LlmCacheEntry entry, long expiresAt, Guid id)
{
    public VectorPartition Partition { get; } = partition;

    public LlmCacheEntry Entry { get; } = entry;

    public long ExpiresAt { get; } = expiresAt;

    public Guid Id { get; } = id;

    /// <summary>The memory it holds, estimated (counted against <see cref="LlmSemanticCacheOptions.MaxBytes"/>).</summary>
    public long Bytes { get; set; }

    /// <summary>Index in the partition's arrays; -1 once removed.</summary>
    public int Position { get; set; }
}

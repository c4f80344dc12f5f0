using System.Numerics.Tensors;

namespace LlmMiddleware.Caching.Semantic;

/// <summary>
/// The approximate index of a large partition: spherical k-means over the vectors' sketches (about √n clusters), each
/// cluster holding its members' positions and, contiguously, their sketches (a probe is one sequential scan). A lookup
/// compares the query's sketch with every centroid, scans the <see cref="Probes"/> nearest clusters, and returns the
/// best few sketch matches for exact re-ranking.
/// </summary>
internal sealed class ClusterIndex
{
    public const int SketchDimensions = 64;
    private const int Probes = 8;
    private const int Iterations = 6;

    private readonly float[] _centroids;
    private readonly int[][] _members;
    private readonly float[][] _memberSketches;
    private readonly int[] _memberCounts;

    private ClusterIndex(RandomProjection projection, float[] centroids, int clusters, int builtAt)
    {
        Projection = projection;
        _centroids = centroids;
        Clusters = clusters;
        BuiltAt = builtAt;
        _members = new int[clusters][];
        _memberSketches = new float[clusters][];
        _memberCounts = new int[clusters];
        var capacity = Math.Max(4, 2 * builtAt / clusters);
        for (var c = 0; c < clusters; c++)
        {
            _members[c] = new int[capacity];
            _memberSketches[c] = new float[capacity * SketchDimensions];
        }
    }

    public RandomProjection Projection { get; }

    public int Clusters { get; }

    /// <summary>How many vectors the index was built over (it is rebuilt when the partition doubles).</summary>
    public int BuiltAt { get; }

    public static ClusterIndex Build(RandomProjection projection, float[] sketches, int count)
    {
        var clusters = Math.Clamp((int)Math.Sqrt(count), 8, 4096);
        var random = new Random(count);
        var centroids = new float[clusters * SketchDimensions];
        for (var c = 0; c < clusters; c++)
        {
            sketches.AsSpan(random.Next(count) * SketchDimensions, SketchDimensions).CopyTo(centroids.AsSpan(c * SketchDimensions));
        }

        // Trained on a sample: enough points per cluster for stable centroids, bounded work for huge partitions.
        var sampleSize = Math.Min(count, clusters * 48);
        var sample = new int[sampleSize];
        for (var i = 0; i < sampleSize; i++)
        {
            sample[i] = sampleSize == count ? i : random.Next(count);
        }

        var sums = new float[centroids.Length];
        var sizes = new int[clusters];
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            Array.Clear(sums);
            Array.Clear(sizes);
            foreach (var point in sample)
            {
                var sketch = sketches.AsSpan(point * SketchDimensions, SketchDimensions);
                var nearest = NearestCentroid(centroids, clusters, sketch);
                TensorPrimitives.Add(sums.AsSpan(nearest * SketchDimensions, SketchDimensions), sketch, sums.AsSpan(nearest * SketchDimensions, SketchDimensions));
                sizes[nearest]++;
            }

            for (var c = 0; c < clusters; c++)
            {
                var sum = sums.AsSpan(c * SketchDimensions, SketchDimensions);
                if (sizes[c] > 0 && TensorPrimitives.Norm(sum) is > 0 and var norm)
                {
                    TensorPrimitives.Divide(sum, norm, centroids.AsSpan(c * SketchDimensions, SketchDimensions));
                }
                else
                {
                    // An empty cluster restarts at a random point.
                    sketches.AsSpan(random.Next(count) * SketchDimensions, SketchDimensions).CopyTo(centroids.AsSpan(c * SketchDimensions));
                }
            }
        }

        var index = new ClusterIndex(projection, centroids, clusters, count);
        for (var i = 0; i < count; i++)
        {
            index.Assign(i, sketches.AsSpan(i * SketchDimensions, SketchDimensions));
        }

        return index;
    }

    /// <summary>Files the vector at <paramref name="position"/> under its nearest cluster.</summary>
    public void Assign(int position, ReadOnlySpan<float> sketch)
    {
        var c = NearestCentroid(_centroids, Clusters, sketch);
        var count = _memberCounts[c];
        if (count == _members[c].Length)
        {
            Array.Resize(ref _members[c], count * 2);
            Array.Resize(ref _memberSketches[c], count * 2 * SketchDimensions);
        }

        _members[c][count] = position;
        sketch.CopyTo(_memberSketches[c].AsSpan(count * SketchDimensions));
        _memberCounts[c] = count + 1;
    }

    /// <summary>Fills <paramref name="best"/> with the positions whose sketches are nearest the query's; returns how many.</summary>
    public int Nearest(ReadOnlySpan<float> sketch, Span<int> best, Span<float> bestScores)
    {
        Span<int> probes = stackalloc int[Probes];
        Span<float> probeScores = stackalloc float[Probes];
        var probeCount = 0;
        for (var c = 0; c < Clusters; c++)
        {
            probeCount = TopInsert(probes, probeScores, probeCount, c, TensorPrimitives.Dot(sketch, _centroids.AsSpan(c * SketchDimensions, SketchDimensions)));
        }

        var found = 0;
        for (var p = 0; p < probeCount; p++)
        {
            var c = probes[p];
            var members = _members[c].AsSpan(0, _memberCounts[c]);
            var sketches = _memberSketches[c].AsSpan();
            for (var m = 0; m < members.Length; m++)
            {
                found = TopInsert(best, bestScores, found, members[m], TensorPrimitives.Dot(sketch, sketches.Slice(m * SketchDimensions, SketchDimensions)));
            }
        }

        return found;
    }

    /// <summary>Keeps the highest scores in descending order in a small fixed-size list.</summary>
    private static int TopInsert(Span<int> items, Span<float> scores, int count, int item, float score)
    {
        if (count == items.Length && score <= scores[count - 1])
        {
            return count;
        }

        var i = count == items.Length ? count - 1 : count++;
        while (i > 0 && scores[i - 1] < score)
        {
            items[i] = items[i - 1];
            scores[i] = scores[i - 1];
            i--;
        }

        items[i] = item;
        scores[i] = score;
        return count;
    }

    private static int NearestCentroid(float[] centroids, int clusters, ReadOnlySpan<float> sketch)
    {
        var best = 0;
        var bestScore = float.NegativeInfinity;
        for (var c = 0; c < clusters; c++)
        {
            var score = TensorPrimitives.Dot(sketch, centroids.AsSpan(c * SketchDimensions, SketchDimensions));
            if (score > bestScore)
            {
                best = c;
                bestScore = score;
            }
        }

        return best;
    }
}

/// <summary>A fixed random projection to <see cref="ClusterIndex.SketchDimensions"/> dimensions, which keeps angles
/// roughly (Johnson–Lindenstrauss): close vectors have close sketches.</summary>
internal sealed class RandomProjection
{
    private readonly float[] _rows;
    private readonly int _dimensions;

    public RandomProjection(int dimensions)
    {
        _dimensions = dimensions;
        _rows = new float[ClusterIndex.SketchDimensions * dimensions];
        var random = new Random(dimensions);
        var scale = 1f / MathF.Sqrt(ClusterIndex.SketchDimensions);
        for (var i = 0; i < _rows.Length; i++)
        {
            _rows[i] = random.Next(2) == 0 ? -scale : scale;
        }
    }

    public void Sketch(ReadOnlySpan<float> vector, Span<float> sketch)
    {
        for (var s = 0; s < ClusterIndex.SketchDimensions; s++)
        {
            sketch[s] = TensorPrimitives.Dot(vector, _rows.AsSpan(s * _dimensions, _dimensions));
        }

        var norm = TensorPrimitives.Norm(sketch);
        if (norm > 0)
        {
            TensorPrimitives.Divide(sketch, norm, sketch);
        }
    }
}

using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using LlmMiddleware.Caching;
using LlmMiddleware.Caching.Semantic;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// One semantic lookup, given the query's embedding, in a partition of 10k or 100k entries of 384 or 1536 dimensions:
/// the approximate index against the flat SIMD scan (the baseline, same run). Queries are near-duplicates (cosine 0.97)
/// of stored entries, as semantic hits are.
/// </summary>
[MemoryDiagnoser]
public class SemanticLookupBenchmarks
{
    private VectorPartition _flat = null!;
    private VectorPartition _indexed = null!;
    private float[][] _queries = null!;
    private int _next;

    [Params(10_000, 100_000)]
    public int Entries { get; set; }

    [Params(384, 1536)]
    public int Dimensions { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(11);
        var entry = new LlmCacheEntry { Response = new LlmResponse(), Provider = "p", Model = "m" };
        _flat = new VectorPartition(Dimensions, int.MaxValue);
        _indexed = new VectorPartition(Dimensions, 1024);
        var stored = new float[Entries][];
        for (var i = 0; i < Entries; i++)
        {
            stored[i] = Unit(random, Dimensions);
            _flat.Add(stored[i], entry, long.MaxValue, Guid.NewGuid());
            _indexed.Add(stored[i], entry, long.MaxValue, Guid.NewGuid());
        }

        while (!_indexed.IsIndexed || _indexed.Count != Entries)
        {
            Thread.Sleep(50);
        }

        // Let a rebuild triggered by the last additions finish before measuring.
        Thread.Sleep(2000);
        _queries = new float[256][];
        for (var q = 0; q < _queries.Length; q++)
        {
            _queries[q] = Near(random, stored[random.Next(Entries)]);
        }
    }

    [Benchmark(Baseline = true, Description = "flat scan")]
    public object? Flat() => _flat.Find(_queries[_next++ & 255], 0.95f, 0);

    [Benchmark(Description = "clustered index")]
    public object? Indexed() => _indexed.Find(_queries[_next++ & 255], 0.95f, 0);

    private static float[] Unit(Random random, int dimensions)
    {
        var vector = new float[dimensions];
        for (var i = 0; i < dimensions; i++)
        {
            vector[i] = (float)(random.NextDouble() * 2 - 1);
        }

        TensorPrimitives.Divide(vector, TensorPrimitives.Norm(vector), vector);
        return vector;
    }

    private static float[] Near(Random random, float[] of)
    {
        var noise = Unit(random, of.Length);
        var result = new float[of.Length];
        for (var i = 0; i < of.Length; i++)
        {
            result[i] = of[i] + (0.25f * noise[i]);
        }

        TensorPrimitives.Divide(result, TensorPrimitives.Norm(result), result);
        return result;
    }
}

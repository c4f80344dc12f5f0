using BenchmarkDotNet.Attributes;
using LlmMiddleware.Utilities;

namespace LlmMiddleware.Benchmarks;

/// <summary>A call record's id: the framework's version-7 UUID (random bits from the OS) against ours (from
/// <see cref="Random.Shared"/>), the same layout.</summary>
[MemoryDiagnoser]
public class RecordIdBenchmarks
{
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;

    [Benchmark(Baseline = true, Description = "Guid.CreateVersion7")]
    public Guid Framework() => Guid.CreateVersion7(_now);

    [Benchmark(Description = "UuidV7.Create")]
    public Guid Ours() => UuidV7.Create(_now);
}

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using LlmMiddleware.Catalog;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// A price look-up on the request path: a dated snapshot id (<c>gpt-4o-2024-08-06</c>, found by the list's rules and
/// remembered) against a plain dictionary probe of an exact id, the catalog's look-up before the generated list; and
/// what a first look-up of an id costs (matching the rules of the provider with the most models).
/// </summary>
[MemoryDiagnoser]
public class CatalogLookupBenchmarks
{
    private readonly LlmModelCatalog _catalog = new(Options.Create(new LlmGatewayOptions()));
    private readonly Dictionary<(string, string), LlmModelInfo> _exact = new() { [("openai", "gpt-4o")] = new LlmModelInfo() };

    [Benchmark(Baseline = true, Description = "Dictionary, exact id")]
    public LlmModelInfo? Exact() => _exact.GetValueOrDefault(("openai", "gpt-4o"));

    [Benchmark(Description = "Find, dated snapshot id")]
    public LlmModelInfo? Dated() => _catalog.Find("openai", "gpt-4o-2024-08-06");

    [Benchmark(Description = "Find, long-context tier price")]
    public decimal Tiered() => _catalog.Find("gemini", "gemini-2.5-pro")!.PricingAt(DateTimeOffset.UnixEpoch)!.ForInputTokens(250_000).Input;

    [Benchmark(Description = "first look-up: rules of 701 models")]
    public string? FirstLookUp() => _catalog.List.Find("openrouter", "z-not-listed/model")?.Id;
}

/// <summary>Building the catalog at start (list and our entries parsed), each in a fresh process: the cold cost.</summary>
[SimpleJob(RunStrategy.ColdStart, launchCount: 10, iterationCount: 1, warmupCount: 0)]
[MemoryDiagnoser]
public class CatalogLoadBenchmarks
{
    [Benchmark(Description = "new LlmModelCatalog (cold)")]
    public object Load() => new LlmModelCatalog(Options.Create(new LlmGatewayOptions()));
}

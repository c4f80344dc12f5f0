using System.Collections.Frozen;
using BenchmarkDotNet.Attributes;
using LlmMiddleware.Providers;
using LlmMiddleware.Routing;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// Ordering a model group's deployments for one request, per strategy, for groups of 3 and 300. Baseline: priority
/// order (no ranking), the cheapest possible selection, in the same run.
/// </summary>
[MemoryDiagnoser]
public class SelectionBenchmarks
{
    private static readonly HttpMessageInvoker Invoker = new(new SocketsHttpHandler());
    private readonly Random _random = new(7);
    private readonly int[] _order = new int[300];
    private LlmDeployment[] _deployments = [];
    private RequestNeeds _needs;

    [Params(3, 300)]
    public int Deployments { get; set; }

    [ParamsAllValues]
    public LlmRoutingStrategy Strategy { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var endpoint = new LlmProviderEndpoint("openai", ProviderPresets.All["openai"], "http://127.0.0.1:1", "k", null, FrozenDictionary<string, string>.Empty, Invoker);
        _deployments = Enumerable.Range(0, Deployments).Select(i =>
        {
            var deployment = new LlmDeployment($"d{i}", "g", endpoint, "m", 1 + (i % 3), [], new LlmModelInfo
            {
                ContextWindow = i % 2 == 0 ? 128_000 : 1_000_000,
                MaxOutputTokens = 16_000,
                Capabilities = ["tools", "streaming"],
                Pricing = new LlmModelPricing { Input = 0.1m + (i % 7), Output = 0.4m + (i % 5) },
            });
            deployment.Record(TimeSpan.FromMilliseconds(100 + (i * 37 % 500)), TimeSpan.FromMilliseconds(900 + (i * 53 % 700)));
            return deployment;
        }).ToArray();
        _needs = new RequestNeeds(2_000, 500, LlmModelCapabilities.Tools, Stream: true);
    }

    [Benchmark]
    public int Select() => DeploymentSelector.Order(Strategy, _deployments, _needs, _order, _random);
}

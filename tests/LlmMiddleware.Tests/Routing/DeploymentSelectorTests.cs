using System.Collections.Frozen;
using LlmMiddleware.Providers;
using LlmMiddleware.Routing;

namespace LlmMiddleware.Tests.Routing;

public sealed class DeploymentSelectorTests
{
    private static readonly HttpMessageInvoker Invoker = new(new SocketsHttpHandler());

    internal static LlmDeployment Deployment(string name, LlmModelInfo? info = null, double weight = 1, string preset = "openai") =>
        new(name, "group", new LlmProviderEndpoint(preset, ProviderPresets.All[preset], "http://127.0.0.1:1", "k", null, FrozenDictionary<string, string>.Empty, Invoker), name, weight, [], info);

    internal static LlmModelInfo Info(int context, decimal input, decimal output, params string[] capabilities) => new()
    {
        ContextWindow = context,
        MaxOutputTokens = 16_000,
        Capabilities = [.. capabilities],
        Pricing = new LlmModelPricing { Input = input, Output = output },
    };

    private static string[] Order(LlmRoutingStrategy strategy, LlmDeployment[] deployments, RequestNeeds needs, int seed = 1)
    {
        Span<int> order = stackalloc int[deployments.Length];
        var count = DeploymentSelector.Order(strategy, deployments, needs, order, new Random(seed));
        return order[..count].ToArray().Select(i => deployments[i].Name).ToArray();
    }

    private static readonly RequestNeeds Small = new(1_000, 500, LlmModelCapabilities.None, Stream: false);

    [Fact]
    public void PriorityKeepsConfigurationOrder()
    {
        LlmDeployment[] group = [Deployment("a", Info(8_000, 9, 9)), Deployment("b", Info(8_000, 1, 1)), Deployment("c")];

        Assert.Equal(["a", "b", "c"], Order(LlmRoutingStrategy.Priority, group, Small));
    }

    [Fact]
    public void LowestCostUsesCatalogPricesAndPutsUnknownPricesLast()
    {
        LlmDeployment[] group = [Deployment("unknown"), Deployment("pricey", Info(128_000, 2.5m, 10)), Deployment("cheap", Info(128_000, 0.15m, 0.6m))];

        Assert.Equal(["cheap", "pricey", "unknown"], Order(LlmRoutingStrategy.LowestCost, group, Small));
    }

    [Fact]
    public void ThatFitsRoutesAwayFromTooSmallContextsAndMissingCapabilities()
    {
        LlmDeployment[] group =
        [
            Deployment("small-context", Info(128_000, 0.1m, 0.1m, "tools", "images")),
            Deployment("no-images", Info(1_000_000, 0.2m, 0.2m, "tools")),
            Deployment("big", Info(1_000_000, 1, 1, "tools", "images")),
        ];
        var large = new RequestNeeds(150_000, 1_000, LlmModelCapabilities.Images, Stream: false);

        Assert.Equal(["big"], Order(LlmRoutingStrategy.CheapestThatFits, group, large));
        Assert.Equal(["small-context", "big"], Order(LlmRoutingStrategy.CheapestThatFits, group, Small with { Capabilities = LlmModelCapabilities.Images }));
        Assert.Empty(Order(LlmRoutingStrategy.CheapestThatFits, group, large with { OutputTokens = 20_000 }));

        // The other strategies do not filter: a too-small context is the provider's to refuse (and a fallback's to catch).
        Assert.Equal(3, Order(LlmRoutingStrategy.LowestCost, group, large).Length);
    }

    [Fact]
    public void LatencyStrategiesPreferUnmeasuredThenFastest()
    {
        var slow = Deployment("slow");
        var fast = Deployment("fast");
        var fresh = Deployment("fresh");
        slow.Record(TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(3));
        fast.Record(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(4));
        LlmDeployment[] group = [slow, fast, fresh];

        Assert.Equal(["fresh", "fast", "slow"], Order(LlmRoutingStrategy.FastestThatFits, group, Small with { Stream = true }));
        Assert.Equal(["fresh", "slow", "fast"], Order(LlmRoutingStrategy.LowestLatency, group, Small));
    }

    [Fact]
    public void MovingAverageFollowsNewSamples()
    {
        var deployment = Deployment("d");
        deployment.Record(TimeSpan.FromMilliseconds(100), null);
        deployment.Record(TimeSpan.FromMilliseconds(600), null);

        Assert.Equal(200, deployment.AverageTimeToFirstToken!.Value.TotalMilliseconds, 3);
        Assert.Null(deployment.AverageDuration);
    }

    [Fact]
    public void LeastInFlightPrefersIdleDeploymentsAndKeepsPriorityOnTies()
    {
        var busy = Deployment("busy");
        Assert.True(busy.TryEnter());
        Assert.True(busy.TryEnter());
        var one = Deployment("one");
        Assert.True(one.TryEnter());
        LlmDeployment[] group = [busy, one, Deployment("idle-1"), Deployment("idle-2")];

        Assert.Equal(["idle-1", "idle-2", "one", "busy"], Order(LlmRoutingStrategy.LeastInFlight, group, Small));
        busy.Leave();
        busy.Leave();
        Assert.Equal(0, busy.InFlight);
    }

    [Fact]
    public void WeightedRandomFollowsWeights()
    {
        LlmDeployment[] group = [Deployment("heavy", weight: 3), Deployment("light", weight: 1), Deployment("off", weight: 0)];
        var random = new Random(42);
        var firsts = new Dictionary<string, int>();
        Span<int> order = stackalloc int[3];
        for (var i = 0; i < 20_000; i++)
        {
            DeploymentSelector.Order(LlmRoutingStrategy.WeightedRandom, group, Small, order, random);
            var first = group[order[0]].Name;
            firsts[first] = firsts.GetValueOrDefault(first) + 1;
            Assert.Equal("off", group[order[2]].Name);
        }

        Assert.InRange(firsts["heavy"] / 20_000.0, 0.72, 0.78);
        Assert.False(firsts.ContainsKey("off"));
    }

    [Fact]
    public void LargeGroupsAreOrderedToo()
    {
        var group = Enumerable.Range(0, 300).Select(i => Deployment($"d{i}", Info(128_000, 300 - i, 1))).ToArray();

        var order = Order(LlmRoutingStrategy.LowestCost, group, Small);

        Assert.Equal(300, order.Length);
        Assert.Equal("d299", order[0]);
        Assert.Equal("d0", order[^1]);
    }

    [Fact]
    public void NeedsAreCountedFromTheRequest()
    {
        var request = new LlmRequest { Model = "m", Stream = true, MaxOutputTokens = 100, ResponseFormat = new LlmResponseFormat(LlmResponseFormatKind.JsonSchema) };
        request.Messages.Add(new LlmMessage(LlmRole.User) { Content = { new LlmTextPart(new string('x', 4000)), new LlmImagePart { Url = "https://x/y.png" } } });
        request.Tools.Add(new LlmTool("f", null, "{}"));

        var needs = RequestNeeds.From(request, LlmMiddleware.Protocols.OpenAI.OpenAICodec.Instance);

        // Tokenizer counts plus the chat format's overheads: reply priming 3, message 3, an image of unknown size as
        // 1024 x 1024 at high detail (85 + 4 x 170), tools 12 plus 7 per tool.
        var o200k = LlmMiddleware.Tokenizers.TiktokenEncoding.O200kBase;
        Assert.Equal(3 + 3 + o200k.CountTokens(new string('x', 4000)) + 765 + 12 + 7 + o200k.CountTokens("f") + o200k.CountTokens("{}"), needs.InputTokens);
        Assert.Equal(100, needs.OutputTokens);
        Assert.Equal(LlmModelCapabilities.Images | LlmModelCapabilities.Tools | LlmModelCapabilities.JsonSchema | LlmModelCapabilities.Streaming, needs.Capabilities);
    }

    [Fact]
    public void TheNinetyFifthPercentileOfTimeToFirstTokenIsKept()
    {
        var deployment = Deployment("d");
        Assert.Null(deployment.TimeToFirstTokenP95);
        for (var ms = 1; ms <= 100; ms++)
        {
            deployment.Record(TimeSpan.FromMilliseconds(ms), null);
        }

        // The window holds the latest 64 samples (37..100 ms): their 95th percentile.
        Assert.Equal(97, deployment.TimeToFirstTokenP95!.Value.TotalMilliseconds);
    }
}

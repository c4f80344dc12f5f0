using LlmMiddleware.Routing;
using static LlmMiddleware.Tests.Routing.DeploymentSelectorTests;

namespace LlmMiddleware.Tests.Routing;

/// <summary>A caller's provider preferences over one model's deployments: order, sort by measured speed, no fallbacks.</summary>
public sealed class RequestRoutingTests
{
    private static readonly RequestNeeds Needs = new(1_000, 500, LlmModelCapabilities.None, Stream: true);
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);

    private static string[] Apply(List<LlmDeployment> deployments, LlmRequestRouting routing) =>
        [.. RequestRouting.Apply(deployments, routing, Needs, Now).Select(d => d.Name)];

    [Fact]
    public void LatencyAndThroughputSortByWhatWasMeasuredWithUnmeasuredDeploymentsFirst()
    {
        var slow = Deployment("slow");
        var quick = Deployment("quick");
        var fresh = Deployment("fresh");
        slow.Record(TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(3), outputTokens: 600);   // 285 tokens/s after the first
        quick.Record(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(2), outputTokens: 190);  // 100 tokens/s

        Assert.Equal(["fresh", "quick", "slow"], Apply([slow, quick, fresh], new LlmRequestRouting { Sort = LlmProviderSort.Latency }));
        Assert.Equal(["fresh", "slow", "quick"], Apply([slow, quick, fresh], new LlmRequestRouting { Sort = LlmProviderSort.Throughput }));
    }

    [Fact]
    public void OrderNamesProvidersFirstAndWithoutFallbacksKeepsOnlyThem()
    {
        List<LlmDeployment> deployments = [Deployment("gpt", preset: "openai"), Deployment("claude", preset: "anthropic"), Deployment("gemini", preset: "gemini")];

        Assert.Equal(["gemini", "claude", "gpt"], Apply(deployments, new LlmRequestRouting { ProviderOrder = { "gemini", "anthropic" } }));
        Assert.Equal(["gemini", "claude"], Apply(deployments, new LlmRequestRouting { ProviderOrder = { "gemini", "ANTHROPIC" }, AllowFallbacks = false }));
        Assert.Equal(["gpt"], Apply(deployments, new LlmRequestRouting { AllowFallbacks = false }));
    }

    [Fact]
    public void DeploymentsCoolingDownStayLastWhateverTheCallerPrefers()
    {
        var cooling = Deployment("cooling", preset: "anthropic");
        cooling.CoolingUntil = Now.AddMinutes(1);

        Assert.Equal(["gpt", "cooling"], Apply([cooling, Deployment("gpt")], new LlmRequestRouting { ProviderOrder = { "anthropic" } }));
    }
}

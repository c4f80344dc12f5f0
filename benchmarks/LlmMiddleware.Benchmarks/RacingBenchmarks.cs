using System.Collections.Frozen;
using System.Net;
using BenchmarkDotNet.Attributes;
using LlmMiddleware.Gateway;
using LlmMiddleware.Providers;
using LlmMiddleware.Racing;
using LlmMiddleware.Routing;
using LlmMiddleware.Upstream;
using Polly;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// CPU cost of racing's machinery: a 2-way race through the group's Polly hedging pipeline (both legs answer at once),
/// against one call (the baseline) and two calls in a row (one call plus the loser's own cost), all to an in-memory
/// provider so only the gateway's work is measured.
/// </summary>
[MemoryDiagnoser]
public class RacingBenchmarks
{
    private static readonly byte[] Body = Payloads.OpenAIResponse;
    private readonly HttpMessageInvoker _invoker = new(new InMemoryProvider());
    private readonly ResiliencePipeline<RaceLeg> _race = RacePlan.Build(2, TimeProvider.System);
    private LlmRoute _route;

    [GlobalSetup]
    public void Setup()
    {
        var endpoint = new LlmProviderEndpoint("openai", ProviderPresets.All["openai"], "http://in-memory/v1", "k", null, FrozenDictionary<string, string>.Empty, _invoker);
        _route = new LlmRoute(endpoint, "gpt-4o-mini", new LlmDeployment("d", "g", endpoint, "gpt-4o-mini", 1, [], null));
    }

    [Benchmark(Baseline = true, Description = "one call")]
    public async Task<int> Single()
    {
        using var leg = new RaceLeg(_route, static _ => { });
        leg.MarkWon();
        await RunLegAsync(leg, CancellationToken.None);
        return (int)leg.Response!.StatusCode;
    }

    [Benchmark(Description = "two calls (one call + the loser's own cost)")]
    public async Task<int> Two()
    {
        var first = await Single();
        return first + await Single();
    }

    [Benchmark(Description = "2-way race (Polly hedging, delay 0)")]
    public async Task<int> Race()
    {
        var legs = new List<RaceLeg> { new(_route, static _ => { }), new(_route, static _ => { }) };
        var run = new RaceRun(legs, TimeSpan.Zero, RunLegAsync);
        var context = ResilienceContextPool.Shared.Get(CancellationToken.None);
        context.Properties.Set(RacePlan.RunKey, run);
        try
        {
            var outcome = await _race.ExecuteOutcomeAsync(static (context, run) => run.RunLeg(run.Legs[0], context.CancellationToken), context, run);
            outcome.Result!.MarkWon();
            return (int)outcome.Result.Response!.StatusCode;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
            foreach (var leg in legs)
            {
                leg.Dispose();
            }
        }
    }

    private async ValueTask<Outcome<RaceLeg>> RunLegAsync(RaceLeg leg, CancellationToken token)
    {
        leg.Started = 1;
        using var request = _route.Provider.CreateRequest("/chat/completions", Payloads.OpenAIRequest, stream: false);
        leg.Response = await _route.Provider.Invoker.SendAsync(request, token);
        return Outcome.FromResult(leg);
    }

    private sealed class InMemoryProvider : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Body) });
    }
}

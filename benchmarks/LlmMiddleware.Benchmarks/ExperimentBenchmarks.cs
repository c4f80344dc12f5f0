using BenchmarkDotNet.Attributes;
using LlmMiddleware.Experiments;
using LlmMiddleware.Pipeline;
using LlmMiddleware.Upstream;
using LlmMiddleware.Utilities;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// The experiments stage: a call naming an experiment assigned its arm (a sticky hash of its key, the arm's headers
/// written) — on the control arm, as prepared, and on the other arm, rerouted there — against a call naming no
/// experiment (the baseline: a fresh call context each time, as the gateway makes one per call). Target: ≤ 200 ns a call.
/// </summary>
[MemoryDiagnoser]
public class ExperimentBenchmarks
{
    private static readonly LlmCallDelegate Upstream = static (_, _) => ValueTask.CompletedTask;
    private readonly LlmRequest _request = new() { Model = "summarize", MaxOutputTokens = 256 };
    private LlmCallStage _stage = null!;
    private PreparedCall _call = null!;
    private LlmCallerIdentity _onControl = null!;
    private LlmCallerIdentity _onOther = null!;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmGateway:UseEnvironmentVariables"] = "false",
            ["LlmGateway:Providers:openai:ApiKey"] = "bench",
            ["LlmGateway:Providers:anthropic:ApiKey"] = "bench",
            ["LlmGateway:Experiments:summaries:Model"] = "summarize",
            ["LlmGateway:Experiments:summaries:Arms:mini:Model"] = "openai/gpt-4o-mini",
            ["LlmGateway:Experiments:summaries:Arms:sonnet:Model"] = "anthropic/claude-sonnet-4-5",
        }).Build());
        services.AddLogging();
        services.AddLlmGateway().AddExperiments();
        var provider = services.BuildServiceProvider();
        _stage = provider.GetRequiredKeyedService<LlmCallStage>(BuiltInStages.Experiments);
        var (endpoint, model) = provider.GetRequiredService<CallPreparation>().Registry.Resolve("openai/gpt-4o-mini");
        _call = new PreparedCall(new PooledBufferWriter(64), new LlmRoute(endpoint, model), null);
        var split = provider.GetRequiredService<ExperimentBook>().For("summarize")!;
        var keys = Enumerable.Range(0, 100).Select(i => "key_" + i).ToList();
        _onControl = new LlmCallerIdentity { Key = keys.First(k => split.Assign(k) == split.ControlIndex) };
        _onOther = new LlmCallerIdentity { Key = keys.First(k => split.Assign(k) != split.ControlIndex) };
    }

    [Benchmark(Baseline = true, Description = "a call naming no experiment")]
    public ValueTask NoExperiment() => _stage.InvokeAsync(NewCall("gpt", _onControl), Upstream, CancellationToken.None);

    [Benchmark(Description = "assigned the control arm")]
    public ValueTask ControlArm() => _stage.InvokeAsync(NewCall("summarize", _onControl), Upstream, CancellationToken.None);

    [Benchmark(Description = "assigned the other arm, rerouted")]
    public ValueTask OtherArm() => _stage.InvokeAsync(NewCall("summarize", _onOther), Upstream, CancellationToken.None);

    private LlmRequestContext NewCall(string model, LlmCallerIdentity caller)
    {
        var http = new DefaultHttpContext();
        http.Response.Headers["x-llm-provider"] = "openai"; // the gateway's route headers: the headers' table exists either way
        return new(http, LlmProtocol.OpenAIChat, LlmOperationNames.Chat, TimeProvider.System)
        {
            Request = _request,
            RequestedModel = model,
            Caller = caller,
            UpstreamState = _call,
        };
    }
}

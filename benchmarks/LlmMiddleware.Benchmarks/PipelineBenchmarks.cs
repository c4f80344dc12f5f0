using BenchmarkDotNet.Attributes;
using LlmMiddleware.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// The call pipeline's own cost: dispatching one call through it with no stages, and through three stages that only
/// call <c>next</c>, against calling the last step directly (the baseline). Target: ≤ 50 ns and 0 B a call empty.
/// </summary>
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private static readonly LlmCallDelegate Upstream = static (_, _) => ValueTask.CompletedTask;
    private LlmCallPipeline _empty = null!;
    private LlmCallPipeline _threeStages = null!;
    private LlmRequestContext _context = null!;

    [GlobalSetup]
    public void Setup()
    {
        _empty = Build(static p => { });
        _threeStages = Build(static p => p.Use(static (c, next, t) => next(c, t), editsRequest: false).Use(static (c, next, t) => next(c, t), editsRequest: false).Use(static (c, next, t) => next(c, t), editsRequest: false));
        _context = new LlmRequestContext(new DefaultHttpContext(), LlmProtocol.OpenAIChat, LlmOperationNames.Chat, TimeProvider.System) { Upstream = Upstream };
    }

    [Benchmark(Baseline = true, Description = "the last step, called directly")]
    public ValueTask Direct() => Upstream(_context, CancellationToken.None);

    [Benchmark(Description = "empty pipeline")]
    public ValueTask Empty() => _empty.InvokeAsync(_context, CancellationToken.None);

    [Benchmark(Description = "three pass-through stages")]
    public ValueTask ThreeStages() => _threeStages.InvokeAsync(_context, CancellationToken.None);

    private static LlmCallPipeline Build(Action<LlmCallPipelineBuilder> order)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        services.AddLlmGateway().ConfigurePipeline(order);
        return services.BuildServiceProvider().GetRequiredService<LlmCallPipeline>();
    }
}

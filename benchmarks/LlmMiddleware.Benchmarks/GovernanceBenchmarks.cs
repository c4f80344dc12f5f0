using BenchmarkDotNet.Attributes;
using LlmMiddleware.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// Budgets and rate limits with the in-memory counters: admitting a call (a key budget and a team budget reserved; a
/// key's requests, tokens and concurrency limits taken; the x-ratelimit headers written) and settling it from its
/// record, against the same call with no governance (the baseline: a fresh call context each time, as the gateway
/// makes one per call). Target: ≤ 2 µs and ≤ 200 B a call more than the baseline.
/// </summary>
[MemoryDiagnoser]
public class GovernanceBenchmarks
{
    private static readonly LlmCallDelegate Upstream = static (_, _) => ValueTask.CompletedTask;
    private static readonly LlmCallerIdentity Caller = new() { Key = "vk_bench", Team = "bench" };
    private readonly LlmRequest _request = new() { Model = "gpt", MaxOutputTokens = 256 };
    private readonly LlmCallRecord _record = new() { InputTokens = 120, OutputTokens = 200, Cost = 0.0001m };
    private LlmCallStage _budgets = null!;
    private LlmCallStage _limits = null!;
    private LlmCallDelegate _budgetsThenUpstream = null!;
    private LlmCallStage _limitsWithoutHeaders = null!;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        services.AddLlmGateway()
            .AddBudgets(o => o.Add(LlmBudgetScope.Key, "*", 1_000_000_000m, LlmBudgetPeriod.Daily).Add(LlmBudgetScope.Team, "bench", 1_000_000_000m, LlmBudgetPeriod.Monthly))
            .AddRateLimits(o => o.Add(LlmRateLimitScope.Key, "*", requestsPerMinute: int.MaxValue, tokensPerMinute: long.MaxValue / 2, maxConcurrentRequests: 1_000));
        var provider = services.BuildServiceProvider();
        _budgets = provider.GetRequiredKeyedService<LlmCallStage>(BuiltInStages.Budgets);
        _limits = provider.GetRequiredKeyedService<LlmCallStage>(BuiltInStages.RateLimits);
        _limitsWithoutHeaders = Limits(emitHeaders: false);
        _budgetsThenUpstream = (c, t) => _budgets.InvokeAsync(c, Upstream, t);
    }

    [Benchmark(Baseline = true, Description = "a call, no governance")]
    public LlmRequestContext NoGovernance()
    {
        var context = NewCall();
        _ = Upstream(context, CancellationToken.None);
        context.Settle();
        return context;
    }

    [Benchmark(Description = "a call, budgets and rate limits admitted and settled")]
    public LlmRequestContext Governed()
    {
        var context = NewCall();
        _ = _limits.InvokeAsync(context, _budgetsThenUpstream, CancellationToken.None);
        context.Record = _record;
        context.Settle();
        return context;
    }

    [Benchmark(Description = "the same, without x-ratelimit headers")]
    public LlmRequestContext GovernedWithoutHeaders()
    {
        var context = NewCall();
        _ = _limitsWithoutHeaders.InvokeAsync(context, _budgetsThenUpstream, CancellationToken.None);
        context.Record = _record;
        context.Settle();
        return context;
    }

    private static LlmCallStage Limits(bool emitHeaders)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        services.AddLlmGateway().AddRateLimits(o =>
        {
            o.Add(LlmRateLimitScope.Key, "*", requestsPerMinute: int.MaxValue, tokensPerMinute: long.MaxValue / 2, maxConcurrentRequests: 1_000);
            o.EmitHeaders = emitHeaders;
        });
        return services.BuildServiceProvider().GetRequiredKeyedService<LlmCallStage>(BuiltInStages.RateLimits);
    }

    private LlmRequestContext NewCall()
    {
        var http = new DefaultHttpContext();
        http.Response.Headers["x-llm-provider"] = "openai"; // the gateway's route headers: the headers' table exists either way
        return new(http, LlmProtocol.OpenAIChat, LlmOperationNames.Chat, TimeProvider.System)
        {
            Request = _request,
            RequestedModel = "gpt",
            ProviderName = "openai",
            UpstreamModel = "gpt-4o-mini",
            Caller = Caller,
            EstimatedPromptTokens = 120, // counted once per call for routing, whatever governance does
        };
    }
}

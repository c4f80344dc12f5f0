using BenchmarkDotNet.Attributes;
using LlmMiddleware.Metering;
using LlmMiddleware.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// Metering's cost on the request path for a finished non-streamed call with provider usage: settling tokens, pricing,
/// building the record, the in-memory totals, the cost metric and the hand-off to the sinks; and the cost headers.
/// Baseline, in the same run: the per-call metrics the gateway already recorded before metering existed.
/// </summary>
[MemoryDiagnoser]
public class MeteringBenchmarks
{
    private ServiceProvider _services = null!;
    private ServiceProvider _servicesWithSink = null!;
    private LlmMeter _meter = null!;
    private LlmMeter _meterWithSink = null!;
    private LlmGatewayTelemetry _telemetry = null!;
    private LlmRequestContext _context = null!;

    [GlobalSetup]
    public void Setup()
    {
        _services = Build(withSink: false);
        _servicesWithSink = Build(withSink: true);
        _meter = _services.GetRequiredService<LlmMeter>();
        _meterWithSink = _servicesWithSink.GetRequiredService<LlmMeter>();
        _servicesWithSink.GetRequiredService<LlmCallRecordDispatcher>().StartAsync(default).GetAwaiter().GetResult();
        _telemetry = _services.GetRequiredService<LlmGatewayTelemetry>();
        _context = new LlmRequestContext(new DefaultHttpContext(), LlmProtocol.OpenAIChat, LlmOperationNames.Chat, TimeProvider.System)
        {
            Request = new LlmRequest { Model = "gpt", User = "u-1" },
            RequestedModel = "gpt",
            ProviderName = "openai",
            ProviderProtocol = LlmProtocol.OpenAIChat,
            UpstreamModel = "gpt-4o-mini",
            UpstreamStatusCode = 200,
            Usage = new LlmUsage { InputTokens = 1200, CachedInputTokens = 1024, OutputTokens = 150 },
            FinishReason = LlmFinishReason.Stop,
        };
        _context.MarkFirstToken();
        _context.MarkEnd();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _servicesWithSink.GetRequiredService<LlmCallRecordDispatcher>().StoppedAsync(default).GetAwaiter().GetResult();
        _services.Dispose();
        _servicesWithSink.Dispose();
    }

    [Benchmark(Baseline = true, Description = "per-call metrics (pre-metering baseline)")]
    public void Metrics() => _telemetry.RecordCall(_context, null);

    [Benchmark(Description = "record + totals + cost metric (no sinks)")]
    public void Complete() => _meter.Complete(_context);

    [Benchmark(Description = "record + totals + cost metric + sink hand-off")]
    public void CompleteWithSink() => _meterWithSink.Complete(_context);

    [Benchmark(Description = "cost headers (non-stream)")]
    public int CostHeaders()
    {
        _context.HttpContext.Response.Headers.Clear();
        _meter.WriteCostHeaders(_context);
        return _context.HttpContext.Response.Headers.Count;
    }

    private static ServiceProvider Build(bool withSink)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        services.AddLogging();
        var gateway = services.AddLlmGateway();
        if (withSink)
        {
            gateway.AddCallRecordSink<NullSink>();
        }

        return services.BuildServiceProvider();
    }

    private sealed class NullSink : ILlmCallRecordSink
    {
        public ValueTask WriteAsync(IReadOnlyList<LlmCallRecord> records, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}

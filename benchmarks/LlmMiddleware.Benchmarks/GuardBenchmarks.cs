using System.Text;
using BenchmarkDotNet.Attributes;
using LlmMiddleware.Gateway;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// What output guards cost on one whole call answered by the in-process simulated provider, streamed and not: no guard
/// registered (the baseline, same run: the relay's one null check, and passthrough stays on), a guard that passes
/// everything (what any guard costs: the answer is parsed and re-written), and the built-in PII redaction.
/// </summary>
[MemoryDiagnoser]
public class GuardBenchmarks
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"model":"echo","max_tokens":256,"messages":[{"role":"user","content":"Write to jane.doe@example.com about the LLM gateway's output guards, in two sentences."}]}""");
    private static readonly byte[] StreamBody = Encoding.UTF8.GetBytes("""{"model":"echo","stream":true,"max_tokens":256,"messages":[{"role":"user","content":"Write to jane.doe@example.com about the LLM gateway's output guards, in two sentences."}]}""");

    private ServiceProvider _none = null!;
    private ServiceProvider _passing = null!;
    private ServiceProvider _pii = null!;

    [GlobalSetup]
    public void Setup()
    {
        _none = Build(_ => { });
        _passing = Build(b => b.AddOutputGuard(new Passing()));
        _pii = Build(b => b.AddPiiRedaction());
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _none.Dispose();
        _passing.Dispose();
        _pii.Dispose();
    }

    [Benchmark(Baseline = true, Description = "no guard, complete")]
    public Task None() => Call(_none, Body);

    [Benchmark(Description = "pass-through guard, complete")]
    public Task PassingGuard() => Call(_passing, Body);

    [Benchmark(Description = "PII redaction, complete")]
    public Task Pii() => Call(_pii, Body);

    [Benchmark(Description = "no guard, streamed")]
    public Task NoneStreamed() => Call(_none, StreamBody);

    [Benchmark(Description = "pass-through guard, streamed")]
    public Task PassingGuardStreamed() => Call(_passing, StreamBody);

    [Benchmark(Description = "PII redaction, streamed")]
    public Task PiiStreamed() => Call(_pii, StreamBody);

    private static Task Call(ServiceProvider services, byte[] body)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = "POST";
        http.Request.ContentType = "application/json";
        http.Request.Body = new MemoryStream(body, writable: false);
        http.Request.ContentLength = body.Length;
        http.Response.Body = Stream.Null;
        return services.GetRequiredService<CallFraming>().HandleChatAsync(http, LlmProtocol.OpenAIChat);
    }

    private static ServiceProvider Build(Action<ILlmGatewayBuilder> guards)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmGateway:UseEnvironmentVariables"] = "false",
            ["LlmGateway:Models:echo:Provider"] = "simulated",
            ["LlmGateway:Models:echo:Model"] = "echo",
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>));
        guards(services.AddLlmGateway());
        return services.BuildServiceProvider();
    }

    private sealed class Passing : LlmOutputGuard
    {
        public override LlmStreamGuard OnStream(LlmRequestContext context) => new PassingStream();

        private sealed class PassingStream : LlmStreamGuard
        {
            public override string OnText(string text) => text;
        }
    }
}

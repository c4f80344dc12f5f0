using System.Text;
using BenchmarkDotNet.Attributes;
using LlmMiddleware.Caching;
using LlmMiddleware.Gateway;
using LlmMiddleware.Protocols;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmMiddleware.Benchmarks;

/// <summary>
/// The gateway's CPU for one whole chat call answered by the exact cache (read and parse the body, route, compute the
/// key, look up the in-process level, replay, meter), non-streamed and streamed, and the key on its own. Baseline, in
/// the same run: the same call answered by the in-process simulated provider with caching off (no network either way);
/// and the exact hit through the in-house HybridCache the gateway used before (<see cref="PreviousHybridCache"/>).
/// </summary>
[MemoryDiagnoser]
public class CacheBenchmarks
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"model":"echo","max_tokens":256,"temperature":0.2,"messages":[{"role":"system","content":"You are a concise assistant."},{"role":"user","content":"Summarize the benefits of response caching in an LLM gateway in two sentences."}]}""");
    private static readonly byte[] StreamBody = Encoding.UTF8.GetBytes("""{"model":"echo","stream":true,"max_tokens":256,"temperature":0.2,"messages":[{"role":"system","content":"You are a concise assistant."},{"role":"user","content":"Summarize the benefits of response caching in an LLM gateway in two sentences."}]}""");

    private ServiceProvider _cached = null!;
    private ServiceProvider _uncached = null!;
    private ServiceProvider _previous = null!;
    private CallFraming _previousExecutor = null!;
    private CallFraming _cachedExecutor = null!;
    private CallFraming _uncachedExecutor = null!;
    private LlmRequest _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        _cached = Build("Exact");
        _uncached = Build("Off");
        _previous = Build("Exact", previousCache: true);
        _previousExecutor = _previous.GetRequiredService<CallFraming>();
        _cachedExecutor = _cached.GetRequiredService<CallFraming>();
        _uncachedExecutor = _uncached.GetRequiredService<CallFraming>();
        _request = LlmMiddleware.Protocols.OpenAI.OpenAICodec.Instance.ReadRequest(Body);

        // Fill the entry the hits replay.
        foreach (var framing in new[] { _cachedExecutor, _previousExecutor })
        {
            Call(framing, Body).GetAwaiter().GetResult();
            var probe = Call(framing, Body).GetAwaiter().GetResult();
            if (probe.Response.Headers["x-llm-cache"] != "hit-exact")
            {
                throw new InvalidOperationException("The benchmark's second call must be an exact hit.");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cached.Dispose();
        _uncached.Dispose();
        _previous.Dispose();
    }

    [Benchmark(Baseline = true, Description = "call answered by the simulated provider, cache off")]
    public Task<HttpContext> Uncached() => Call(_uncachedExecutor, Body);

    [Benchmark(Description = "exact hit, complete response")]
    public Task<HttpContext> ExactHit() => Call(_cachedExecutor, Body);

    [Benchmark(Description = "exact hit, complete response, previous in-house HybridCache")]
    public Task<HttpContext> ExactHitPrevious() => Call(_previousExecutor, Body);

    [Benchmark(Description = "exact hit, streamed")]
    public Task<HttpContext> ExactHitStreamed() => Call(_cachedExecutor, StreamBody);

    [Benchmark(Description = "cache key of the request")]
    public string Key() => LlmCacheKey.Compute(_request, "echo", "echo", "key:key_0123456789abcdef");

    private static async Task<HttpContext> Call(CallFraming framing, byte[] body)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = "POST";
        http.Request.ContentType = "application/json";
        http.Request.Headers.Authorization = "Bearer sk-benchmark";
        http.Request.Body = new MemoryStream(body, writable: false);
        http.Request.ContentLength = body.Length;
        http.Response.Body = Stream.Null;
        await framing.HandleChatAsync(http, LlmProtocol.OpenAIChat);
        return http;
    }

    private static ServiceProvider Build(string mode, bool previousCache = false)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LlmGateway:UseEnvironmentVariables"] = "false",
            ["LlmGateway:Models:echo:Provider"] = "simulated",
            ["LlmGateway:Models:echo:Model"] = "echo",
            ["LlmGateway:Cache:Mode"] = mode,
        }).Build();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>));
        if (previousCache)
        {
            services.AddSingleton<Microsoft.Extensions.Caching.Hybrid.HybridCache, PreviousHybridCache>();
        }

        services.AddLlmGateway();
        return services.BuildServiceProvider();
    }
}

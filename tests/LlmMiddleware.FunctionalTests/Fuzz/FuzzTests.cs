using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using CsCheck;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace LlmMiddleware.FunctionalTests.Fuzz;

/// <summary>
/// Property-based fuzzing of the gateway with <see cref="RequestMutations"/>, against every provider kind through the
/// strict fake upstream, with the response cache on and a sink recording every call: no response is a 5xx, none hangs,
/// every error is in the caller's protocol, every success is metered exactly once, and the cache still answers
/// afterwards. CI runs <see cref="DefaultCases"/> cases; the long run sets <c>FUZZ_CASES</c>:
/// <c>FUZZ_CASES=100000 dotnet test tests/LlmMiddleware.FunctionalTests --filter FullyQualifiedName~FuzzTests</c>.
/// A failure prints the CsCheck seed (<c>CsCheck_Seed=...</c>) that reproduces it, shrunk.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int DefaultCases = 1500;

    private readonly CollectingSink _sink = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) }; // a hang guard, not a timing claim
    private FakeUpstream _upstream = null!;
    private GatewayHost _gateway = null!;
    private readonly ConcurrentDictionary<int, int> _statuses = new();
    private int _succeeded;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _gateway = await GatewayHost.StartAsync(
            _upstream,
            b => b.Services.AddSingleton<ILlmCallRecordSink>(_sink),
            settings: new Dictionary<string, string?>
            {
                ["LlmGateway:Cache:Mode"] = "Exact",
                ["LlmGateway:Metering:FlushInterval"] = "00:00:00.020",
            });
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task GeneratedRequestsNeverGetA5xxAndLeaveMeteringAndCacheConsistent()
    {
        var cases = int.TryParse(Environment.GetEnvironmentVariable("FUZZ_CASES"), out var n) ? n : DefaultCases;
        await RequestMutations.Cases.SampleAsync(CheckAsync, iter: cases, print: c => c.ToString());

        output.WriteLine($"{cases} cases; responses by status: " + string.Join(", ", _statuses.OrderBy(p => p.Key).Select(p => $"{p.Key}: {p.Value}")));

        // Every success was metered exactly once (cache hits included), whatever failed around it.
        var succeeded = Volatile.Read(ref _succeeded);
        await _sink.WaitForAsync(r => r.Status == LlmCallStatus.Succeeded && r.Role == LlmCallRole.Primary, succeeded);
        Assert.Equal(succeeded, _sink.Records.Count(r => r.Status == LlmCallStatus.Succeeded && r.Role == LlmCallRole.Primary));

        // The cache still answers, from what it stored.
        const string valid = """{"model":"gpt","messages":[{"role":"user","content":"After the fuzz"}]}""";
        var (first, firstBody, _) = await SendAsync("/v1/chat/completions", valid);
        var (second, secondBody, cache) = await SendAsync("/v1/chat/completions", valid);
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK, "hit-exact"), (first, second, cache));
        Assert.Equal(Content(firstBody), Content(secondBody));
    }

    private async Task CheckAsync(FuzzCase fuzz)
    {
        var (status, body, _) = await SendAsync(fuzz.Path, fuzz.Body);
        _statuses.AddOrUpdate((int)status, 1, (_, count) => count + 1);
        Assert.True((int)status < 500, $"{(int)status} for a generated request: {body}");
        if ((int)status >= 400)
        {
            AssertErrorInCallersProtocol(fuzz.Surface, body);
        }
        else
        {
            Interlocked.Increment(ref _succeeded);
        }
    }

    private static void AssertErrorInCallersProtocol(FuzzSurface surface, string body)
    {
        using var json = JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        if (surface == FuzzSurface.AnthropicMessages)
        {
            Assert.Equal("error", json.RootElement.GetProperty("type").GetString());
            Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        }
    }

    private static string Content(string body) =>
        JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

    private async Task<(HttpStatusCode Status, string Body, string? Cache)> SendAsync(string path, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.BaseUrl + path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Authorization", "Bearer fuzz-caller");
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text, response.Headers.TryGetValues("x-llm-cache", out var values) ? values.Single() : null);
    }
}

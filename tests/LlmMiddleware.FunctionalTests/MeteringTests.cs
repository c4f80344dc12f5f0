using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using LlmMiddleware.Tokenizers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Per-call records, costs, counted usage and the spend report, through a real gateway and fake providers.</summary>
public sealed class MeteringTests : IAsyncLifetime
{
    private readonly CollectingSink _sink = new();
    private readonly HttpClient _http = new();
    private FakeUpstream _upstream = null!;
    private GatewayHost _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _gateway = await StartGatewayAsync();
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private Task<GatewayHost> StartGatewayAsync(Dictionary<string, string?>? settings = null, LlmGatewayHook? hook = null) => GatewayHost.StartAsync(
        _upstream,
        b =>
        {
            var gateway = b.Services.AddLlmGateway();
            b.Services.AddSingleton<ILlmCallRecordSink>(_sink);
            if (hook is not null)
            {
                gateway.AddHook(hook);
            }
        },
        app =>
        {
            app.MapLlmGateway();
            app.MapLlmSpend();
        },
        new Dictionary<string, string?>(settings ?? []) { ["LlmGateway:Metering:FlushInterval"] = "00:00:00.020" });

    public static TheoryData<string, string, long, long, long, long, string> ProviderUsageShapes => new()
    {
        // model alias, upstream, input, cached, output, reasoning, expected cost (catalog prices, USD per million tokens)
        { "gpt", "openai/gpt-4o-mini", 11, 3, 7, 0, "0.000005625" },            // (8 x 0.15 + 3 x 0.075 + 7 x 0.60) / 1e6
        { "claude", "anthropic/claude-sonnet-4-5", 11, 3, 7, 0, "0.0001299" },  // (8 x 3 + 3 x 0.30 + 7 x 15) / 1e6
        { "gem", "gemini/gemini-2.5-flash", 10, 0, 7, 2, "0.0000205" },         // (10 x 0.30 + (5 + 2 thoughts) x 2.50) / 1e6
    };

    [Theory]
    [MemberData(nameof(ProviderUsageShapes))]
    public async Task EachCallIsRecordedAndPricedFromTheProvidersUsage(string alias, string model, long input, long cached, long output, long reasoning, string cost)
    {
        using var response = await PostAsync("/v1/chat/completions", $$"""{"model":"{{alias}}","user":"u-42","messages":[{"role":"user","content":"hi"}]}""", "sk-caller-secret");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(cost, Header(response, "x-llm-cost-usd"));
        Assert.Equal(input.ToString(), Header(response, "x-llm-input-tokens"));
        Assert.Equal(output.ToString(), Header(response, "x-llm-output-tokens"));
        Assert.Equal("@pydantic/genai-prices@0.1.8", Header(response, "x-llm-price-version"));

        var record = await _sink.WaitForAsync(r => r.Provider + "/" + r.Model == model);
        Assert.Equal((input, cached, output, reasoning), (record.InputTokens, record.CachedInputTokens, record.OutputTokens, record.ReasoningTokens));
        Assert.Equal(decimal.Parse(cost, System.Globalization.CultureInfo.InvariantCulture), record.Cost);
        Assert.Equal(LlmTokenSource.Provider, record.TokenSource);
        Assert.Null(record.Tokenizer);
        Assert.Equal((LlmCallStatus.Succeeded, LlmCallRole.Primary, 200), (record.Status, record.Role, record.StatusCode));
        Assert.Equal(alias, record.RequestedModel);
        Assert.Equal("u-42", record.Caller.User);
        Assert.StartsWith("key_", record.Caller.Key);
        Assert.DoesNotContain("secret", record.Caller.Key);
        Assert.NotNull(record.TimeToFirstToken);
        Assert.NotNull(record.Duration);
    }

    /// <summary>Reports come a page at a time, highest cost first, so a gateway that saw many keys answers in bounded
    /// pieces.</summary>
    [Fact]
    public async Task TheSpendReportPagesByCost()
    {
        await using var gateway = await StartGatewayAsync();
        for (var i = 0; i < 5; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + "/v1/chat/completions") { Content = Json("""{"model":"claude","messages":[{"role":"user","content":"hi"}]}""") };
            request.Headers.Add("Authorization", "Bearer key-" + i);
            using var response = await _http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await _sink.WaitForAsync(r => r.Caller.Key is not null && _sink.Records.Count(x => x.Caller.Key is not null) >= 5);
        var groups = new List<string>();
        int? offset = 0;
        while (offset is { } at)
        {
            using var page = JsonDocument.Parse(await _http.GetStringAsync($"{gateway.BaseUrl}/llm/spend?groupBy=key&limit=2&offset={at}"));
            Assert.Equal(5, page.RootElement.GetProperty("total").GetInt32());
            Assert.True(page.RootElement.GetProperty("rows").GetArrayLength() <= 2);
            groups.AddRange(page.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("group").GetString()!));
            offset = page.RootElement.GetProperty("nextOffset").ValueKind == JsonValueKind.Null ? null : page.RootElement.GetProperty("nextOffset").GetInt32();
        }

        Assert.Equal(5, groups.Distinct().Count());
    }

    [Fact]
    public async Task PassthroughStreamsReportUsageUpstreamWithoutShowingTheCaller()
    {
        using var response = await PostAsync("/v1/chat/completions", """{"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var sse = await response.Content.ReadAsStringAsync();

        Assert.True(_upstream.LastCall("openai").Body["stream_options"]!["include_usage"]!.GetValue<bool>());
        Assert.DoesNotContain("usage", sse);
        Assert.EndsWith("data: [DONE]\n\n", sse);
        Assert.Contains("Hello from openai: hi", StreamText.JoinOpenAIContent(sse));
        var record = await _sink.WaitForAsync(r => r.Stream && r.Model == "gpt-4o-mini");
        Assert.Equal((11, 7, LlmTokenSource.Provider), (record.InputTokens, record.OutputTokens, record.TokenSource));

        using var asked = await PostAsync("/v1/chat/completions", """{"model":"gpt","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Contains("\"usage\":{\"prompt_tokens\":11", await asked.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task StreamsOverHttp2CarryTheCostInTrailers()
    {
        await using var gateway = await GatewayHost.StartAsync(
            _upstream,
            b => b.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2)));
        using var http2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        using var response = await http2.PostAsync(gateway.BaseUrl + "/v1/messages", Json("""{"model":"claude","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}"""));
        await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.False(response.Headers.Contains("x-llm-cost-usd"));
        Assert.Equal("0.0001299", response.TrailingHeaders.GetValues("x-llm-cost-usd").Single());
        Assert.Equal("7", response.TrailingHeaders.GetValues("x-llm-output-tokens").Single());
    }

    [Fact]
    public async Task AClientThatDisconnectsMidStreamStillYieldsARecordOfWhatWasDelivered()
    {
        var reply = string.Join(' ', Enumerable.Range(0, 40).Select(i => $"word{i}"));
        _upstream.Enqueue(new FakeFault { Provider = "openai", Text = reply, DelayAfterEvents = 2, EventDelay = TimeSpan.FromSeconds(30) });
        using (var request = new HttpRequestMessage(HttpMethod.Post, _gateway.BaseUrl + "/v1/chat/completions") { Content = Json("""{"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}""") })
        using (var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[4096];
            var seen = "";
            while (!seen.Contains("word"))
            {
                seen += Encoding.UTF8.GetString(buffer, 0, await stream.ReadAsync(buffer));
            }
        }

        var record = await _sink.WaitForAsync(r => r.Status == LlmCallStatus.ClientDisconnected);
        var delivered = reply[..(reply.Length / 2)];
        Assert.Equal(TiktokenEncoding.O200kBase.CountTokens(delivered), record.OutputTokens);
        Assert.True(record.InputTokens > 0);
        Assert.Equal(LlmTokenSource.Counted, record.TokenSource);
        Assert.Equal("tiktoken:o200k_base", record.Tokenizer);
        Assert.True(record.Cost > 0m);
    }

    [Fact]
    public async Task ABrokenStreamKeepsTheProvidersPromptCountAndCountsTheDeliveredOutput()
    {
        var reply = "one two three four five six seven eight nine ten";
        _upstream.Enqueue(new FakeFault { Provider = "anthropic", Text = reply, BreakAfterEvents = 5 });

        using var response = await PostAsync("/v1/messages", """{"model":"claude","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        var sse = await response.Content.ReadAsStringAsync();

        var record = await _sink.WaitForAsync(r => r.Status == LlmCallStatus.StreamBroken);
        Assert.Contains("event: error", sse);
        Assert.Equal(11, record.InputTokens);
        Assert.Equal(LlmTokenSource.Mixed, record.TokenSource);
        var delivered = StreamText.JoinAnthropicText(sse);
        Assert.NotEmpty(delivered);
        Assert.Equal(Math.Max(1, TiktokenEncoding.O200kBase.CountTokens(delivered)), record.OutputTokens);
    }

    [Fact]
    public async Task UnpricedModelsAreFlaggedNotFreeAndCanBeBlocked()
    {
        using var flagged = await PostAsync("/v1/chat/completions", """{"model":"openai/gpt-unlisted","messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(HttpStatusCode.OK, flagged.StatusCode);
        Assert.Equal("unpriced", Header(flagged, "x-llm-cost-usd"));
        var record = await _sink.WaitForAsync(r => r.Model == "gpt-unlisted");
        Assert.True(record.Unpriced);
        Assert.Null(record.Cost);
        Assert.Equal(11, record.InputTokens);

        await using var blocking = await StartGatewayAsync(new() { ["LlmGateway:Metering:UnpricedModels"] = "Block" });
        var calls = _upstream.Calls.Count;
        using var openAI = await _http.PostAsync(blocking.BaseUrl + "/v1/chat/completions", Json("""{"model":"openai/gpt-unlisted-2","messages":[{"role":"user","content":"hi"}]}"""));
        using var anthropic = await _http.PostAsync(blocking.BaseUrl + "/v1/messages", Json("""{"model":"openai/gpt-unlisted-2","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, openAI.StatusCode);
        using var openAIError = JsonDocument.Parse(await openAI.Content.ReadAsStringAsync());
        Assert.Equal("model_not_priced", openAIError.RootElement.GetProperty("error").GetProperty("code").GetString());
        using var anthropicError = JsonDocument.Parse(await anthropic.Content.ReadAsStringAsync());
        Assert.Equal("invalid_request_error", anthropicError.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(calls, _upstream.Calls.Count);
        var blocked = await _sink.WaitForAsync(r => r.Status == LlmCallStatus.Blocked);
        Assert.Equal((0m, 0L, false), (blocked.Cost!.Value, blocked.InputTokens, blocked.Unpriced));

        using var priced = await _http.PostAsync(blocking.BaseUrl + "/v1/chat/completions", Json("""{"model":"gpt","messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.OK, priced.StatusCode);
    }

    [Fact]
    public async Task SpendIsReportedPerModelKeyTeamAndDay()
    {
        var team = new TeamHook();
        await using var gateway = await StartGatewayAsync(hook: team);
        for (var i = 0; i < 3; i++)
        {
            using var response = await _http.PostAsync(gateway.BaseUrl + "/v1/chat/completions", Json("""{"model":"claude","messages":[{"role":"user","content":"hi"}]}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var byModel = JsonDocument.Parse(await _http.GetStringAsync(gateway.BaseUrl + "/llm/spend?groupBy=model"));
        var row = Assert.Single(byModel.RootElement.GetProperty("rows").EnumerateArray());
        Assert.Equal("anthropic/claude-sonnet-4-5", row.GetProperty("group").GetString());
        Assert.Equal(3, row.GetProperty("calls").GetInt64());
        Assert.Equal(33, row.GetProperty("inputTokens").GetInt64());
        Assert.Equal(3 * 0.0001299m, row.GetProperty("cost").GetDecimal());

        using var byTeam = JsonDocument.Parse(await _http.GetStringAsync(gateway.BaseUrl + "/llm/spend?groupBy=team"));
        Assert.Equal("search", byTeam.RootElement.GetProperty("rows")[0].GetProperty("group").GetString());

        var today = DateTime.UtcNow.ToString("yyyy-MM-dd");
        using var byDay = JsonDocument.Parse(await _http.GetStringAsync($"{gateway.BaseUrl}/llm/spend?groupBy=day&from={today}&to={today}"));
        Assert.Equal(today, byDay.RootElement.GetProperty("rows")[0].GetProperty("group").GetString());
        using var none = JsonDocument.Parse(await _http.GetStringAsync($"{gateway.BaseUrl}/llm/spend?groupBy=key&to=2000-01-01"));
        Assert.Empty(none.RootElement.GetProperty("rows").EnumerateArray());

        using var bad = await _http.GetAsync(gateway.BaseUrl + "/llm/spend?groupBy=colour");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        foreach (var paging in new[] { "limit=0", "limit=1001", "offset=-1", "limit=x" })
        {
            using var badPage = await _http.GetAsync(gateway.BaseUrl + "/llm/spend?groupBy=key&" + paging);
            Assert.Equal(HttpStatusCode.BadRequest, badPage.StatusCode);
        }
        var record = await _sink.WaitForAsync(r => r.Caller.Team == "search");
        Assert.Equal("search-app", record.Caller.App);
    }

    [Fact]
    public async Task GeminiEmbeddingsAreCountedSinceGeminiReportsNoUsage()
    {
        using var response = await PostAsync("/v1/embeddings", """{"model":"gemini/text-embedding-004","input":["hello world","second input"]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await _sink.WaitForAsync(r => r.Operation == "embeddings");
        Assert.Equal(TiktokenEncoding.O200kBase.CountTokens("hello world") + TiktokenEncoding.O200kBase.CountTokens("second input"), record.InputTokens);
        Assert.Equal(LlmTokenSource.Counted, record.TokenSource);

        // The caller is told the same count, not Gemini's silence as 0.
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(record.InputTokens, answer.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt64());
        Assert.Equal(record.InputTokens, answer.RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt64());
    }

    [Fact]
    public async Task AHostsTokenizerCountsForItsProviderAndTheRecordNamesIt()
    {
        // A WordPiece vocabulary of three words: anything else is one [UNK] token, where o200k_base would count several.
        var vocabulary = new MemoryStream(Encoding.UTF8.GetBytes("[UNK]\nhello\nworld\n"));
        var wordPiece = await Microsoft.ML.Tokenizers.WordPieceTokenizer.CreateAsync(vocabulary);
        var sink = new CollectingSink();
        await using var gateway = await GatewayHost.StartAsync(
            _upstream,
            b =>
            {
                b.Services.AddLlmGateway().AddTokenizer("gemini", wordPiece, "wordpiece-test");
                b.Services.AddSingleton<ILlmCallRecordSink>(sink);
            },
            app => app.MapLlmGateway(),
            new Dictionary<string, string?> { ["LlmGateway:Metering:FlushInterval"] = "00:00:00.020" });

        using var response = await _http.PostAsync(gateway.BaseUrl + "/v1/embeddings", Json("""{"model":"gemini/text-embedding-004","input":["hello world","antidisestablishmentarianism"]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await sink.WaitForAsync(r => r.Operation == "embeddings");
        Assert.Equal((3, "wordpiece-test"), (record.InputTokens, record.Tokenizer));
        Assert.True(TiktokenEncoding.O200kBase.CountTokens("antidisestablishmentarianism") > 1);
    }

    private async Task<HttpResponseMessage> PostAsync(string path, string body, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _gateway.BaseUrl + path) { Content = Json(body) };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return await _http.SendAsync(request);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    private sealed class TeamHook : LlmGatewayHook
    {
        public override ValueTask OnRequestAsync(LlmRequestContext context, CancellationToken cancellationToken)
        {
            context.Caller = new LlmCallerIdentity { Team = "search", App = "search-app" };
            return ValueTask.CompletedTask;
        }
    }
}

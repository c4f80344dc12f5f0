using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using LlmMiddleware.PostgreSql;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// The dashboard in a real browser (Debian's chromium, driven by Playwright): it loads without console errors, every
/// page shows the figures the gateway's APIs give, the filters work, a browser without the operator's credentials is
/// refused, and against a ledger of 100,000 calls the first load stays small (its size and time to interactive are
/// kept beside the screenshots, in <c>screenshots/</c> next to the test assembly).
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class DashboardTests(PostgreSqlServer postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Policy = "llm-operator";
    private const string Chromium = "/usr/bin/chromium";
    private readonly CollectingSink _sink = new();
    private FakeUpstream _upstream = null!;
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        await DebianPackages.EnsureAsync("chromium", Chromium);
        _upstream = await FakeUpstream.StartAsync();
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task EveryPageShowsWhatTheApisSayFiltersAndRefusesStrangers()
    {
        await using var gateway = await StartAsync(new Dictionary<string, string?>
        {
            ["LlmGateway:VirtualKeys:Keys:ada:Secret"] = "sk-llm-ada-0123456789abcdef",
            ["LlmGateway:VirtualKeys:Keys:ada:Team"] = "research",
            ["LlmGateway:VirtualKeys:Keys:bob:Secret"] = "sk-llm-bob-0123456789abcdef",
            ["LlmGateway:Budgets:Rules:0:Scope"] = "Team",
            ["LlmGateway:Budgets:Rules:0:Subject"] = "research",
            ["LlmGateway:Budgets:Rules:0:Limit"] = "100",
            ["LlmGateway:Budgets:Rules:0:Period"] = "Monthly",
            ["LlmGateway:Groups:pool:Deployments:0:Provider"] = "openai",
            ["LlmGateway:Groups:pool:Deployments:0:Model"] = "gpt-4o-mini",
            ["LlmGateway:Groups:pool:Deployments:1:Provider"] = "anthropic",
            ["LlmGateway:Groups:pool:Deployments:1:Model"] = "claude-sonnet-4-5",
            ["LlmGateway:Groups:pool:MaxRetries"] = "0",
        });
        _upstream.Enqueue(new FakeFault { Provider = "openai", Status = 503, Body = "{}" }); // the pool's first call falls back
        foreach (var (key, model) in new[] { ("ada", "pool"), ("ada", "gpt"), ("ada", "claude"), ("bob", "gpt"), ("bob", "trial") })
        {
            await Sdks.OpenAI(gateway, $"sk-llm-{key}-0123456789abcdef", model).CompleteChatAsync([new OpenAI.Chat.UserChatMessage("for the dashboard")]);
        }

        await foreach (var _ in Sdks.OpenAI(gateway, "sk-llm-bob-0123456789abcdef", "claude").CompleteChatStreamingAsync([new OpenAI.Chat.UserChatMessage("streamed")]))
        {
        }

        await _sink.WaitForAsync(_ => true, 6); // published, so counted in what the dashboard reads
        var (page, errors, _) = await OpenAsync(gateway);
        var api = new Api(gateway);

        Assert.Equal(await api.SpendAsync("model"), await RowsAsync(page, "spend-table"));
        var traffic = (await api.GetAsync("traffic")).GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(traffic.Select(r => Row(Deployment(r), Count(r, "calls"), Percent(r, "errors", "calls"), Ms(r, "latencyP50Ms"), Ms(r, "latencyP95Ms"), Ms(r, "timeToFirstTokenP50Ms"), Ms(r, "timeToFirstTokenP95Ms"))), await RowsAsync(page, "latency-table"));
        Assert.Equal(traffic.Select(r => Row(Deployment(r), Count(r, "retries"), Count(r, "fallbacks"), Count(r, "raceWins"), Count(r, "raceLosses"))), await RowsAsync(page, "routing-table"));
        Assert.Contains(Row("anthropic/claude-sonnet-4-5", "0", "1", "0", "0"), await RowsAsync(page, "routing-table")); // the pool's fallback
        Assert.Contains(traffic, r => r.TryGetProperty("timeToFirstTokenP50Ms", out _)); // the streamed call
        var health = (await api.GetAsync("deployments")).GetProperty("deployments").EnumerateArray().ToList();
        Assert.Equal(health.Select(d => $"{d.GetProperty("group")}/{d.GetProperty("name")}"), await KeysAsync(page, "health-table"));
        Assert.Equal(2, health.Count);
        var governance = await api.GetAsync("governance");
        var byKey = (await api.SpendAsync("key")).ToDictionary(r => r[0]);
        Assert.Equal([Row("ada", "", "research", "", "active", byKey["ada"][1], byKey["ada"][2]), Row("bob", "", "", "", "active", byKey["bob"][1], byKey["bob"][2])], await RowsAsync(page, "keys-table"));
        var budget = Assert.Single(governance.GetProperty("budgets").EnumerateArray());
        Assert.Equal(Usd(budget.GetProperty("spent").GetDecimal()), (await RowsAsync(page, "budgets-table")).Single()[4]);
        Assert.True(budget.GetProperty("spent").GetDecimal() > 0m); // ada's calls, charged to her team
        Assert.Equal(1, await page.Locator("#experiment-reports table[data-experiment=trial] tbody tr").CountAsync()); // the one arm bob's call went to
        await page.ScreenshotAsync(new() { Path = Artifact("dashboard.png"), FullPage = true });

        // The grouping filter, then the days: from tomorrow on nothing was spent.
        await page.SelectOptionAsync("[data-testid=spend-group]", "key");
        await page.WaitForSelectorAsync("[data-testid=spend-table] tr[data-key=ada]");
        Assert.Equal(await api.SpendAsync("key"), await RowsAsync(page, "spend-table"));
        await page.FillAsync("[data-testid=from]", DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        await page.WaitForSelectorAsync("body[data-ready=true]", new() { State = WaitForSelectorState.Attached });
        Assert.Empty(await RowsAsync(page, "spend-table"));
        Assert.Empty(await RowsAsync(page, "latency-table"));
        Assert.Empty(errors);

        // A browser without the operator's credentials gets a bare 401, page and API alike (Chromium shows its own error).
        var stranger = await _browser.NewContextAsync();
        var navigation = await Assert.ThrowsAsync<PlaywrightException>(async () => await (await stranger.NewPageAsync()).GotoAsync(gateway.BaseUrl + "/llm/dashboard/"));
        Assert.Contains("ERR_HTTP_RESPONSE_CODE_FAILURE", navigation.Message);
        foreach (var path in new[] { "", "api/spend", "api/traffic", "api/deployments", "api/experiments", "api/governance" })
        {
            Assert.Equal((int)HttpStatusCode.Unauthorized, (await stranger.APIRequest.GetAsync(gateway.BaseUrl + "/llm/dashboard/" + path)).Status);
        }
    }

    [Fact]
    public async Task AgainstALedgerOfAHundredThousandCallsTheFirstLoadIsSmallAndMatchesTheApis()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var gateway = await StartAsync(ledger: database);
        var records = TrafficRecords.Make(100_000, seed: 11, new DateTimeOffset(DateTime.UtcNow.Date.AddHours(12), TimeSpan.Zero)); // 31 days, each well filled
        foreach (var batch in records.Chunk(10_000))
        {
            await gateway.Services.GetRequiredService<PostgreSqlCallLedger>().WriteAsync(batch, default);
        }

        // A ledger in its steady state, as autovacuum leaves it (rather than being vacuumed during the measurement).
        await PostgreSqlServer.ScalarAsync<int>(database, "VACUUM ANALYZE llm_call_records; SELECT 1");

        // Measured twice, in browsers that never saw the dashboard: with the gateway just started (its dashboard code
        // not yet compiled by the JIT), and once it has served the dashboard before, as a running gateway has.
        var (first, firstErrors, firstResponses) = await OpenAsync(gateway);
        var (page, errors, responses) = await OpenAsync(gateway);
        var (warm, cold) = ((Bytes: await BytesAsync(responses), Ms: await InteractiveAsync(page)), (Bytes: await BytesAsync(firstResponses), Ms: await InteractiveAsync(first)));
        var measured = $"{{\"records\":100000,\"requests\":{responses.Count},\"bytes\":{warm.Bytes},\"interactiveMs\":{warm.Ms},\"coldGateway\":{{\"bytes\":{cold.Bytes},\"interactiveMs\":{cold.Ms}}}}}";
        await page.ScreenshotAsync(new() { Path = Artifact("dashboard-100k.png"), FullPage = true });
        await File.WriteAllTextAsync(Artifact("dashboard-first-load.json"), measured);
        output.WriteLine(measured); // times are recorded, not asserted (benchmarks/README.md has the figures)

        Assert.Empty(firstErrors);
        Assert.True(await BytesAsync(firstResponses) <= 300 * 1024, measured);
        Assert.Empty(errors);
        var api = new Api(gateway);
        var traffic = (await api.GetAsync("traffic")).GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(records.Count(r => r.Role != LlmCallRole.RaceLoser), traffic.Sum(r => r.GetProperty("calls").GetInt64()));
        Assert.Equal(traffic.Select(r => Row(Deployment(r), Count(r, "calls"), Percent(r, "errors", "calls"), Ms(r, "latencyP50Ms"), Ms(r, "latencyP95Ms"), Ms(r, "timeToFirstTokenP50Ms"), Ms(r, "timeToFirstTokenP95Ms"))), await RowsAsync(page, "latency-table"));
        Assert.Equal(traffic.Select(r => Row(Deployment(r), Count(r, "cacheLookups"), Count(r, "cacheHits"), Percent(r, "cacheHits", "cacheLookups"), Usd(r.GetProperty("savedCost").GetDecimal()))), await RowsAsync(page, "cache-table"));
        Assert.Equal(await api.SpendAsync("model"), await RowsAsync(page, "spend-table"));
        Assert.Equal(31, await page.Locator("#spend-days rect").CountAsync()); // 30 days back, both ends
        var arms = (await api.GetAsync("experiments"))[0].GetProperty("report").GetProperty("tasks")[0].GetProperty("arms").EnumerateArray();
        Assert.Equal(arms.Select(a => Count(a, "calls")), (await RowsAsync(page, "#experiment-reports table")).Select(r => r[1]));
    }

    /// <summary>Opens the dashboard as the operator and waits until it has drawn everything (or logged an error).</summary>
    private async Task<(IPage Page, List<string> Errors, List<IResponse> Responses)> OpenAsync(GatewayHost gateway)
    {
        var operatorView = await _browser.NewContextAsync(new() { ExtraHTTPHeaders = new Dictionary<string, string> { ["x-test-role"] = "operator" } });
        var page = await operatorView.NewPageAsync();
        var (errors, responses) = (new List<string>(), new List<IResponse>());
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => errors.Add(error);
        page.Response += (_, response) => responses.Add(response);
        await page.GotoAsync(gateway.BaseUrl + "/llm/dashboard");
        await Task.WhenAny(page.WaitForSelectorAsync("body[data-ready=true]", new() { State = WaitForSelectorState.Attached }), page.WaitForConsoleMessageAsync(new() { Predicate = m => m.Type == "error" }));
        Assert.Empty(errors);
        return (page, errors, responses);
    }

    /// <summary>What the responses transferred: headers and bodies, as received.</summary>
    private static async Task<long> BytesAsync(List<IResponse> responses)
    {
        var bytes = 0L;
        foreach (var response in responses)
        {
            var sizes = await response.Request.SizesAsync();
            bytes += sizes.ResponseHeadersSize + sizes.ResponseBodySize;
        }

        return bytes;
    }

    /// <summary>Milliseconds from navigation to the page having drawn everything (its <c>llm-dashboard-ready</c> mark).</summary>
    private static async Task<string> InteractiveAsync(IPage page) =>
        (await page.EvaluateAsync<double>("performance.getEntriesByName('llm-dashboard-ready')[0].startTime")).ToString("0", CultureInfo.InvariantCulture);

    /// <summary>The cells of each body row of the table <paramref name="selector"/> names (a test id, or a CSS selector).</summary>
    private static async Task<List<string[]>> RowsAsync(IPage page, string selector)
    {
        var rows = new List<string[]>();
        foreach (var row in await page.Locator((selector.Contains(' ') ? selector : $"[data-testid={selector}]") + " tbody tr").AllAsync())
        {
            rows.Add([.. await row.Locator("td").AllInnerTextsAsync()]);
        }

        return rows;
    }

    private static async Task<List<string>> KeysAsync(IPage page, string testId) =>
        [.. await page.Locator($"[data-testid={testId}] tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.key)")];

    private static string[] Row(params string[] cells) => cells;

    private static string Deployment(JsonElement row) => row.TryGetProperty("deployment", out var d) ? d.GetString()! : $"{row.GetProperty("provider")}/{row.GetProperty("model")}";

    private static string Count(JsonElement row, string name) => row.GetProperty(name).GetInt64().ToString(CultureInfo.InvariantCulture);

    /// <summary>As the page writes a share: one decimal and " %", or "–" of nothing.</summary>
    private static string Percent(JsonElement row, string part, string whole) => row.GetProperty(whole).GetInt64() is var w and > 0
        ? Math.Round(100m * row.GetProperty(part).GetInt64() / w, 1, MidpointRounding.AwayFromZero).ToString("0.0", CultureInfo.InvariantCulture) + " %" : "–";

    /// <summary>As the page writes milliseconds: whole, or "–" when absent.</summary>
    private static string Ms(JsonElement row, string name) => row.TryGetProperty(name, out var v) ? Math.Round(v.GetDouble(), MidpointRounding.AwayFromZero).ToString("0", CultureInfo.InvariantCulture) : "–";

    /// <summary>As the page writes an amount: two to six decimals, thousands separated.</summary>
    private static string Usd(decimal value) => value.ToString("#,##0.00####", CultureInfo.InvariantCulture);

    private static string Artifact(string name) => Path.Combine(AppContext.BaseDirectory, "screenshots", name);

    private Task<GatewayHost> StartAsync(IDictionary<string, string?>? settings = null, string? ledger = null) => GatewayHost.StartAsync(
        _upstream,
        b =>
        {
            var gateway = b.Services.AddLlmGateway().AddExperiments(o => o.Experiments["trial"] = new LlmExperiment { Arms = { ["a"] = new() { Model = "gpt" }, ["b"] = new() { Model = "claude" } } });
            if (settings?.ContainsKey("LlmGateway:VirtualKeys:Keys:ada:Secret") == true)
            {
                gateway.AddVirtualKeys().AddBudgets();
            }

            if (ledger is not null)
            {
                gateway.AddPostgreSqlLedger(ledger);
            }

            b.Services.AddSingleton<ILlmCallRecordSink>(_sink);
            b.Services.AddAuthentication(HeaderAuthentication.Name).AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>(HeaderAuthentication.Name, null);
            b.Services.AddAuthorization(o => o.AddPolicy(Policy, p => p.RequireClaim(ClaimTypes.Role, "operator")));
        },
        app =>
        {
            app.MapLlmGateway();
            app.MapLlmDashboard("/llm/dashboard", Policy);
        },
        settings);

    /// <summary>The dashboard's JSON, read as the operator.</summary>
    private sealed class Api(GatewayHost gateway)
    {
        public async Task<JsonElement> GetAsync(string path)
        {
            using var http = new HttpClient();
            http.DefaultRequestHeaders.Add("x-test-role", "operator");
            return JsonDocument.Parse(await http.GetStringAsync($"{gateway.BaseUrl}/llm/dashboard/api/{path}")).RootElement;
        }

        /// <summary>The spend API's rows, as the dashboard writes them.</summary>
        public async Task<List<string[]>> SpendAsync(string groupBy) =>
            [.. (await GetAsync($"spend?groupBy={groupBy}&limit=1000")).GetProperty("rows").EnumerateArray().Select(r => Row(r.GetProperty("group").GetString()!, Count(r, "calls"), Usd(r.GetProperty("cost").GetDecimal())))];
    }
}

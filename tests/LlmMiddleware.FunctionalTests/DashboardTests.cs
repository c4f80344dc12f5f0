using System.Net;
using System.Security.Claims;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// The dashboard in a real browser (Debian's chromium, driven by Playwright): it loads without console errors, shows
/// the spend and experiment figures the gateway's APIs give for the calls the test made, its grouping filter works,
/// and a browser without the operator's credentials is refused. Screenshots are kept beside the test assembly.
/// </summary>
public sealed class DashboardTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private const string Policy = "llm-operator";
    private const string Chromium = "/usr/bin/chromium";
    private readonly CollectingSink _sink = new();

    [Fact]
    public async Task TheDashboardShowsWhatTheApisSayFiltersAndRefusesStrangers()
    {
        await DebianPackages.EnsureAsync("chromium", Chromium);
        await using var gateway = await StartAsync();
        foreach (var (key, model) in new[] { ("sk-ada", "gpt"), ("sk-ada", "claude"), ("sk-bob", "gpt"), ("sk-bob", "trial") })
        {
            await Sdks.OpenAI(gateway, key, model).CompleteChatAsync([new OpenAI.Chat.UserChatMessage("for the dashboard")]);
        }

        await _sink.WaitForAsync(_ => true, 4); // published, so counted in the spend the dashboard reads
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var operatorView = await browser.NewContextAsync(new() { ExtraHTTPHeaders = new Dictionary<string, string> { ["x-test-role"] = "operator" } });
        var page = await operatorView.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => errors.Add(error);

        await page.GotoAsync(gateway.BaseUrl + "/llm/dashboard");
        await Task.WhenAny(page.WaitForSelectorAsync("body[data-ready=true]", new() { State = WaitForSelectorState.Attached }), page.WaitForConsoleMessageAsync(new() { Predicate = m => m.Type == "error" }));
        Assert.Empty(errors);
        var byModel = await SpendRowsAsync(page);
        await page.ScreenshotAsync(new() { Path = Screenshot("dashboard-by-model.png"), FullPage = true });
        await page.SelectOptionAsync("[data-testid=spend-group]", "key");
        await page.WaitForSelectorAsync("[data-testid=spend-table] tr[data-group^=key_]");
        var byKey = await SpendRowsAsync(page);
        var armRows = await page.Locator("#experiment-reports table[data-experiment=trial] tbody tr").CountAsync();

        Assert.Empty(errors);
        Assert.Equal(await ApiRowsAsync(gateway, "model"), byModel);
        Assert.Equal(await ApiRowsAsync(gateway, "key"), byKey);
        Assert.Equal(2, byKey.Count); // two callers' keys
        Assert.Equal(1, armRows); // the one arm the trial call went to

        // A browser without the operator's credentials gets a bare 401, page and API alike (Chromium shows its own error).
        var stranger = await browser.NewContextAsync();
        var navigation = await Assert.ThrowsAsync<PlaywrightException>(() => stranger.NewPageAsync().Result.GotoAsync(gateway.BaseUrl + "/llm/dashboard/"));
        Assert.Contains("ERR_HTTP_RESPONSE_CODE_FAILURE", navigation.Message);
        Assert.Equal((int)HttpStatusCode.Unauthorized, (await stranger.APIRequest.GetAsync(gateway.BaseUrl + "/llm/dashboard/")).Status);
        Assert.Equal((int)HttpStatusCode.Unauthorized, (await stranger.APIRequest.GetAsync(gateway.BaseUrl + "/llm/dashboard/api/spend")).Status);
    }

    private static async Task<List<(string Group, string Calls, string Cost)>> SpendRowsAsync(IPage page)
    {
        var rows = new List<(string, string, string)>();
        foreach (var row in await page.Locator("[data-testid=spend-table] tbody tr").AllAsync())
        {
            var cells = await row.Locator("td").AllInnerTextsAsync();
            rows.Add((cells[0], cells[1], cells[2]));
        }

        return rows;
    }

    /// <summary>The spend API's rows, as the dashboard formats them.</summary>
    private static async Task<List<(string Group, string Calls, string Cost)>> ApiRowsAsync(GatewayHost gateway, string groupBy)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("x-test-role", "operator");
        var spend = JsonDocument.Parse(await http.GetStringAsync($"{gateway.BaseUrl}/llm/dashboard/api/spend?groupBy={groupBy}")).RootElement;
        return [.. spend.GetProperty("rows").EnumerateArray().Select(r => (r.GetProperty("group").GetString()!, r.GetProperty("calls").GetInt64().ToString(), Usd(r.GetProperty("cost").GetDecimal())))];
    }

    /// <summary>As the page writes an amount: two to six decimals, thousands separated.</summary>
    private static string Usd(decimal value) => value.ToString("#,##0.00####", System.Globalization.CultureInfo.InvariantCulture);

    private static string Screenshot(string name) => Path.Combine(AppContext.BaseDirectory, "screenshots", name);

    private Task<GatewayHost> StartAsync() => GatewayHost.StartAsync(
        fixture.Upstream,
        b =>
        {
            b.Services.AddLlmGateway().AddExperiments(o => o.Experiments["trial"] = new LlmExperiment { Arms = { ["a"] = new() { Model = "gpt" }, ["b"] = new() { Model = "claude" } } });
            b.Services.AddSingleton<ILlmCallRecordSink>(_sink);
            b.Services.AddAuthentication(HeaderAuthentication.Name).AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>(HeaderAuthentication.Name, null);
            b.Services.AddAuthorization(o => o.AddPolicy(Policy, p => p.RequireClaim(ClaimTypes.Role, "operator")));
        },
        app =>
        {
            app.MapLlmGateway();
            app.MapLlmDashboard("/llm/dashboard", Policy);
        });
}

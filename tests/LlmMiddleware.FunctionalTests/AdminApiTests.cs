using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// The admin API behind the host's authorization policy: keys issued, rotated and revoked over HTTP and used by an
/// official SDK; budgets and limits set and removed; spend read from the PostgreSQL ledger, every instance's.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class AdminApiTests(PostgreSqlServer postgres) : IAsyncLifetime
{
    private const string Policy = "llm-admin";
    private readonly HttpClient _http = new();
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task OnlyThePolicysPrincipalsReachItAndAKeyIssuedThereWorksRotatesAndIsRevoked()
    {
        await using var gateway = await StartAsync();

        var anonymous = await SendAsync(gateway, HttpMethod.Get, "/keys", role: null);
        var notAdmin = await SendAsync(gateway, HttpMethod.Get, "/keys", role: "reader");
        var (created, issued) = await SendAsync(gateway, HttpMethod.Post, "/keys", body: """{"name":"checkout","team":"payments","models":["gpt"],"tags":{"env":"prod"}}""");
        var secret = issued.GetProperty("secret").GetString()!;
        var id = issued.GetProperty("key").GetProperty("id").GetString()!;
        var answer = await Sdks.OpenAI(gateway, secret).CompleteChatAsync([new UserChatMessage("issued over http")]);
        var (_, listed) = await SendAsync(gateway, HttpMethod.Get, "/keys");
        var (_, rotated) = await SendAsync(gateway, HttpMethod.Post, $"/keys/{id}/rotate?graceSeconds=0");
        var newSecret = rotated.GetProperty("secret").GetString()!;
        var old = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(gateway, secret).CompleteChatAsync([new UserChatMessage("old secret")]));
        await Sdks.OpenAI(gateway, newSecret).CompleteChatAsync([new UserChatMessage("new secret")]);
        var (revokedStatus, revoked) = await SendAsync(gateway, HttpMethod.Delete, $"/keys/{id}");
        var afterRevoke = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(gateway, newSecret).CompleteChatAsync([new UserChatMessage("revoked")]));

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Status);
        Assert.Equal(HttpStatusCode.Forbidden, notAdmin.Status);
        Assert.Equal(HttpStatusCode.Created, created);
        Assert.StartsWith("sk-llm-", secret, StringComparison.Ordinal);
        Assert.Equal(("payments", "prod"), (issued.GetProperty("key").GetProperty("team").GetString(), issued.GetProperty("key").GetProperty("tags").GetProperty("env").GetString()));
        Assert.NotNull(answer.Value);
        var entry = Assert.Single(listed.EnumerateArray(), k => k.GetProperty("id").GetString() == id);
        Assert.DoesNotContain(secret, listed.GetRawText(), StringComparison.Ordinal); // listed without secrets
        Assert.False(entry.TryGetProperty("secret", out _));
        Assert.Equal((401, 401), (old.Status, afterRevoke.Status));
        Assert.Equal(HttpStatusCode.OK, revokedStatus);
        Assert.True(revoked.TryGetProperty("revokedAt", out _));
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(gateway, HttpMethod.Post, "/keys/vk_nope/revoke")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(gateway, HttpMethod.Post, "/keys", body: """{"team":""")).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await SendAsync(gateway, HttpMethod.Post, "/keys", body: $$"""{"id":"{{id}}"}""")).Status);
    }

    [Fact]
    public async Task BudgetsAndLimitsAreSetAndRemovedOverHttpAndTakeEffectAtOnce()
    {
        await using var gateway = await StartAsync();
        var (_, issued) = await SendAsync(gateway, HttpMethod.Post, "/keys", body: """{"team":"ops"}""");
        var secret = issued.GetProperty("secret").GetString()!;
        var id = issued.GetProperty("key").GetProperty("id").GetString()!;

        var (budgetSet, _) = await SendAsync(gateway, HttpMethod.Put, "/budgets", body: $$"""{"scope":"key","subject":"{{id}}","limit":0.000001,"period":"daily"}""");
        var broke = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(gateway, secret).CompleteChatAsync([new UserChatMessage("over budget")]));
        var (_, status) = await SendAsync(gateway, HttpMethod.Get, $"/budgets/status?scope=key&subject={id}");
        var (removed, _) = await SendAsync(gateway, HttpMethod.Delete, $"/budgets/key/{id}/daily");
        Assert.Equal(HttpStatusCode.NoContent, removed);
        await Sdks.OpenAI(gateway, secret).CompleteChatAsync([new UserChatMessage("no budget now")]);
        var (limitSet, _) = await SendAsync(gateway, HttpMethod.Put, "/limits", body: """{"scope":"team","subject":"ops","requestsPerMinute":1}""");
        var (_, limits) = await SendAsync(gateway, HttpMethod.Get, "/limits");
        await Sdks.OpenAI(gateway, secret).CompleteChatAsync([new UserChatMessage("first this minute")]);
        var limited = await Assert.ThrowsAsync<ClientResultException>(() => Sdks.OpenAI(gateway, secret).CompleteChatAsync([new UserChatMessage("second this minute")]));

        Assert.Equal(HttpStatusCode.OK, budgetSet);
        Assert.Equal(429, broke.Status);
        Assert.Contains("budget_exceeded", broke.Message, StringComparison.Ordinal);
        Assert.Equal(0.000001m, Assert.Single(status.EnumerateArray()).GetProperty("budget").GetProperty("limit").GetDecimal());
        Assert.Equal(HttpStatusCode.NoContent, removed);
        Assert.Equal(HttpStatusCode.OK, limitSet);
        Assert.Equal("team", Assert.Single(limits.EnumerateArray()).GetProperty("scope").GetString());
        Assert.Equal(429, limited.Status);
        Assert.Contains("rate_limit_exceeded", limited.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(gateway, HttpMethod.Put, "/limits", body: """{"scope":"team","subject":"ops"}""")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(gateway, HttpMethod.Put, "/budgets", body: """{"scope":"galaxy","subject":"x","limit":1}""")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(gateway, HttpMethod.Delete, "/limits/team/nobody")).Status);
    }

    [Fact]
    public async Task SpendIsReadFromTheLedgerAcrossInstances()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var first = await StartAsync(database);
        await using var second = await StartAsync(database);
        var (_, a) = await SendAsync(first, HttpMethod.Post, "/keys", body: """{"id":"team-a-key","team":"a"}""");
        var (_, b) = await SendAsync(second, HttpMethod.Post, "/keys", body: """{"id":"team-b-key","team":"b"}""");

        await Sdks.OpenAI(first, a.GetProperty("secret").GetString()!).CompleteChatAsync([new UserChatMessage("on the first")]);
        await Sdks.OpenAI(second, b.GetProperty("secret").GetString()!).CompleteChatAsync([new UserChatMessage("on the second")]);
        await Sdks.OpenAI(second, b.GetProperty("secret").GetString()!).CompleteChatAsync([new UserChatMessage("on the second again")]);
        await first.StopAsync(); // flushes the first instance's records
        await second.StopAsync();
        await using var reader = await StartAsync(database);
        var (status, byTeam) = await SendAsync(reader, HttpMethod.Get, "/spend?groupBy=team");

        Assert.Equal(HttpStatusCode.OK, status);
        var rows = byTeam.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("group").GetString()!, r => r.GetProperty("calls").GetInt64());
        Assert.Equal(1, rows["a"]);
        Assert.Equal(2, rows["b"]);
        Assert.Equal("team", byTeam.GetProperty("groupBy").GetString());
    }

    [Fact]
    public async Task ExperimentsAreListedReportedStoppedAndStartedOverHttp()
    {
        await using var without = await StartAsync();
        await using var gateway = await StartAsync(experiments: true);
        var (_, issued) = await SendAsync(gateway, HttpMethod.Post, "/keys", body: """{"team":"ops"}""");
        var caller = Sdks.OpenAI(gateway, issued.GetProperty("secret").GetString()!, "trial");
        await caller.CompleteChatAsync([new UserChatMessage("part of the trial")]);

        var (_, listed) = await SendAsync(gateway, HttpMethod.Get, "/experiments");
        var (_, report) = await SendAsync(gateway, HttpMethod.Get, "/experiments/trial/report");
        var (stopped, afterStop) = await SendAsync(gateway, HttpMethod.Post, "/experiments/trial/stop");
        var (_, afterStart) = await SendAsync(gateway, HttpMethod.Post, "/experiments/trial/start");

        Assert.Equal("""[{"name":"trial","running":true}]""", listed.GetRawText());
        var arm = Assert.Single(Assert.Single(report.GetProperty("tasks").EnumerateArray()).GetProperty("arms").EnumerateArray());
        Assert.Equal(1, arm.GetProperty("calls").GetInt64());
        Assert.Equal((HttpStatusCode.OK, false, true), (stopped, afterStop.GetProperty("running").GetBoolean(), afterStart.GetProperty("running").GetBoolean()));
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(gateway, HttpMethod.Get, "/experiments/nonesuch/report")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(gateway, HttpMethod.Post, "/experiments/trial/stop", role: "reader")).Status);
        var (absent, why) = await SendAsync(without, HttpMethod.Get, "/experiments");
        Assert.Equal(HttpStatusCode.NotFound, absent);
        Assert.Contains("AddExperiments()", why.GetRawText());
    }

    [Fact]
    public async Task ItRefusesToMapWithoutAPolicyOrWithOneTheHostDoesNotHave()
    {
        var none = await Assert.ThrowsAnyAsync<ArgumentException>(() => GatewayHost.StartAsync(_upstream, null, app => app.MapLlmAdmin("/llm/admin", "")));
        var unknown = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => GatewayHost.StartAsync(_upstream, b => b.Services.AddAuthorization(), app => app.MapLlmAdmin("/llm/admin", "no-such-policy")));

        Assert.Contains("name the authorization policy", none.Message, StringComparison.Ordinal);
        Assert.Contains("No authorization policy named 'no-such-policy'", unknown.Message, StringComparison.Ordinal);
    }

    private Task<GatewayHost> StartAsync(string? ledger = null, bool experiments = false) => GatewayHost.StartAsync(
        _upstream,
        b =>
        {
            var gateway = b.Services.AddLlmGateway().AddVirtualKeys().AddBudgets().AddRateLimits();
            if (ledger is not null)
            {
                gateway.AddPostgreSqlLedger(ledger);
            }

            if (experiments)
            {
                gateway.AddExperiments(o => o.Experiments["trial"] = new LlmExperiment { Arms = { ["a"] = new() { Model = "gpt" }, ["b"] = new() { Model = "claude" } } });
            }

            b.Services.AddAuthentication(HeaderAuthentication.Name).AddScheme<AuthenticationSchemeOptions, HeaderAuthentication>(HeaderAuthentication.Name, null);
            b.Services.AddAuthorization(o => o.AddPolicy(Policy, p => p.RequireClaim(ClaimTypes.Role, "admin")));
        },
        app =>
        {
            app.MapLlmGateway();
            app.MapLlmAdmin("/llm/admin", Policy);
        });

    private async Task<(HttpStatusCode Status, JsonElement Json)> SendAsync(GatewayHost gateway, HttpMethod method, string path, string? body = null, string? role = "admin")
    {
        using var request = new HttpRequestMessage(method, gateway.BaseUrl + "/llm/admin" + path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        if (role is not null)
        {
            request.Headers.Add("x-test-role", role);
        }

        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }
}

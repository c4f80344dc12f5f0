using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// Experiments: calls naming an experiment are split between its arms by weight, each caller kept on one arm on every
/// instance; the arm serves the call and is on its record, span and response headers; a caller can pick an arm to
/// debug; a stopped experiment sends its calls to its control arm; calls are labelled with their task.
/// </summary>
public sealed class ExperimentTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static readonly Dictionary<string, string?> Summaries = new()
    {
        ["LlmGateway:Experiments:summaries:Model"] = "summarize",
        ["LlmGateway:Experiments:summaries:Arms:mini:Model"] = "gpt",
        ["LlmGateway:Experiments:summaries:Arms:sonnet:Model"] = "anthropic/claude-sonnet-4-5",
        ["LlmGateway:Experiments:summaries:Arms:sonnet:Weight"] = "3",
        ["LlmGateway:Experiments:summaries:Control"] = "mini",
        ["LlmGateway:Experiments:summaries:Task"] = "summaries",
    };

    private readonly CollectingSink _sink = new();

    private Task<GatewayHost> StartAsync(Dictionary<string, string?>? settings = null, Action<WebApplication>? app = null) =>
        GatewayHost.StartAsync(fixture.Upstream, b =>
        {
            b.Services.AddLlmGateway().AddExperiments();
            b.Services.AddSingleton<ILlmCallRecordSink>(_sink);
        }, app, settings ?? Summaries);

    [Fact]
    public async Task CallersAreSplitByWeightAndEachKeepsItsArmOnEveryInstance()
    {
        await using var first = await StartAsync();
        await using var second = await StartAsync();
        var spans = new ConcurrentQueue<Activity>();
        using var tracing = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "LlmMiddleware",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(tracing);

        var arms = new Dictionary<string, string>();
        for (var caller = 0; caller < 40; caller++)
        {
            var key = $"sk-caller-{caller}";
            var (onFirst, provider, _) = await PostAsync(first, key);
            var (onSecond, _, _) = await PostAsync(second, key);
            Assert.Equal(onFirst, onSecond); // sticky: the same arm for the same key, whichever instance answers
            Assert.Equal(onFirst == "mini" ? "openai" : "anthropic", provider);
            arms[key] = onFirst!;
        }

        // Weights 1 and 3 over 40 callers: about 10 and 30 (a fixed hash, so a fixed count).
        Assert.InRange(arms.Values.Count(a => a == "mini"), 5, 15);
        await _sink.WaitForAsync(r => r.Experiment == "summaries", 80);
        Assert.All(_sink.Records.Where(r => r.RequestedModel == "summarize"), r => Assert.Equal(("summaries", "summaries"), (r.Experiment, r.Task)));
        Assert.Equal(80, _sink.Records.Count(r => r.Arm is "mini" or "sonnet"));
        var span = spans.First(s => s.GetTagItem("llm_gateway.experiment") is "summaries");
        Assert.Contains(span.GetTagItem("llm_gateway.experiment.arm"), new object[] { "mini", "sonnet" });
        Assert.Equal("summaries", span.GetTagItem("llm_gateway.task"));
    }

    [Theory]
    [InlineData("Session")]
    [InlineData("User")]
    public async Task StickyBySessionOrUserKeepsOneArmAcrossKeys(string stickyBy)
    {
        await using var gateway = await StartAsync(new Dictionary<string, string?>(Summaries) { ["LlmGateway:Experiments:summaries:StickyBy"] = stickyBy });

        var arms = new HashSet<string?>();
        for (var caller = 0; caller < 20; caller++)
        {
            using var response = await SendAsync(gateway, $"sk-many-{caller}", session: "session-1", user: "ada");
            arms.Add(response.Headers.GetValues("x-llm-arm").Single());
        }

        Assert.Single(arms); // twenty keys, one session (one user): one arm
    }

    [Fact]
    public async Task ACallerMayPickAnArmAndAnArmThatDoesNotExistIsAnOpenAIShaped400()
    {
        await using var gateway = await StartAsync();

        var picked = await PostAsync(gateway, "sk-picks", arm: "sonnet");
        var other = await PostAsync(gateway, "sk-picks", arm: "mini");
        using var unknown = await SendAsync(gateway, "sk-picks", arm: "opus");

        Assert.Equal(("sonnet", "anthropic"), (picked.Arm, picked.Provider));
        Assert.Equal(("mini", "openai"), (other.Arm, other.Provider));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        var error = JsonDocument.Parse(await unknown.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal(("invalid_request_error", "x-llm-arm"), (error.GetProperty("type").GetString(), error.GetProperty("param").GetString()));
        Assert.Contains("has no arm 'opus'; its arms: mini, sonnet", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task AStoppedExperimentSendsItsCallsToItsControlArmAndStartingItSplitsThemAgain()
    {
        await using var gateway = await StartAsync();
        var experiments = gateway.Services.GetRequiredService<LlmExperiments>();
        var sonnetCaller = await FindCallerAsync(gateway, "sonnet");

        experiments.Stop("summaries");
        using var stopped = await SendAsync(gateway, sonnetCaller, text: "while stopped");
        experiments.Start("summaries");
        var started = await PostAsync(gateway, sonnetCaller);

        Assert.False(stopped.Headers.Contains("x-llm-arm"));
        Assert.Equal("openai", fixture.Upstream.Calls.Last(c => c.Body.ToJsonString().Contains("while stopped")).Provider);
        Assert.Equal(("sonnet", "anthropic"), (started.Arm, started.Provider));
        var record = await _sink.WaitForAsync(r => r.Caller.Key is not null && r.RequestedModel == "summarize" && r.Experiment is null);
        Assert.Equal(("openai", "summaries"), (record.Provider, record.Task)); // not part of the experiment, still labelled
        Assert.Equal(["summaries"], experiments.Names);
        Assert.True(experiments.IsRunning("summaries"));
    }

    [Fact]
    public async Task CallsAreLabelledWithTheTaskTheyNameInAHeaderOrTheirMetadataElseTheirRoutes()
    {
        await using var gateway = await StartAsync(app: app => app.MapLlmGateway().WithMetadata(new LlmTaskAttribute("routed")));

        await PostAsync(gateway, "sk-tasks", task: "translation", model: "gpt");
        using var fromMetadata = await SendAsync(gateway, "sk-tasks", model: "gpt", metadataTask: "extraction");
        using var fromRoute = await SendAsync(gateway, "sk-tasks", model: "gpt");
        using var tooLong = await SendAsync(gateway, "sk-tasks", task: new string('t', 65));

        Assert.Equal(HttpStatusCode.OK, fromMetadata.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal(("gpt", null), ((await _sink.WaitForAsync(r => r.Task == "translation")).RequestedModel, (await _sink.WaitForAsync(r => r.Task == "translation")).Experiment));
        Assert.Null((await _sink.WaitForAsync(r => r.Task == "extraction")).Experiment); // a task alone is no experiment
        Assert.Equal(HttpStatusCode.OK, fromRoute.StatusCode);
        await _sink.WaitForAsync(r => r.Task == "routed");
        Assert.Equal("x-llm-task", JsonDocument.Parse(await tooLong.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task TheJudgeScoresSampledAnswersOffThePathAndItsOwnCallsAreMeteredToTheExperiment()
    {
        var settings = new Dictionary<string, string?>(Summaries)
        {
            ["LlmGateway:Judge:Model"] = "mistral/mistral-small-latest",
            ["LlmGateway:Judge:SampleRate"] = "1",
            ["LlmGateway:Judge:Rubrics:summaries"] = "A good summary is short and faithful.",
        };
        fixture.Upstream.Enqueue(new FakeFault { Provider = "mistral", Text = "Verdict: {\"score\": 8, \"rationale\": \"Faithful and short.\"}" });
        fixture.Upstream.Enqueue(new FakeFault { Provider = "mistral", Text = "I would rather not say." });
        await using var gateway = await StartAsync(settings);
        using var judgements = new MetricCollector<long>(gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "llm_gateway.judge.judgements");

        var judged = await PostAsync(gateway, "sk-judged-1");
        await judgements.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(30));
        await PostAsync(gateway, "sk-judged-2");
        await judgements.WaitForMeasurementsAsync(2, TimeSpan.FromSeconds(30));

        Assert.Equal(["scored", "failed"], judgements.GetMeasurementSnapshot().Select(m => m.Tags["llm_gateway.judge.outcome"]));
        var verdict = Assert.Single(await gateway.Services.GetRequiredService<ILlmJudgementStore>().ListAsync("summaries", default).ToListAsync());
        Assert.Equal((8d, "Faithful and short.", "summaries", judged.Arm), (verdict.Score, verdict.Rationale, verdict.Task, verdict.Arm));
        var asked = fixture.Upstream.Calls.Last(c => c.Provider == "mistral" && c.Body.ToJsonString().Contains(judged.Text)).Body.ToJsonString(); // the judged request
        Assert.Contains("A good summary is short and faithful.", asked); // the task's rubric
        var judgeRecords = await _sink.WaitForAsync(r => r.Role == LlmCallRole.Judge);
        Assert.Equal(("summaries", "llm-judge", "mistral"), (judgeRecords.Experiment, judgeRecords.Caller.Key, judgeRecords.Provider));
        var judgedRecord = await _sink.WaitForAsync(r => r.Id == verdict.RecordId);
        Assert.Equal((LlmCallRole.Primary, verdict.Arm), (judgedRecord.Role, judgedRecord.Arm));
    }

    [Fact]
    public async Task APairwiseJudgeComparesAnAnswerWithTheOtherArmsAnswerToTheSameRequest()
    {
        var settings = new Dictionary<string, string?>(Summaries)
        {
            ["LlmGateway:Judge:Model"] = "mistral/mistral-small-latest",
            ["LlmGateway:Judge:SampleRate"] = "1",
            ["LlmGateway:Judge:Scoring"] = "Pairwise",
        };
        fixture.Upstream.Enqueue(new FakeFault { Provider = "mistral", Text = """{"winner": "B", "rationale": "B is closer to the request."}""" });
        await using var gateway = await StartAsync(settings);
        using var judgements = new MetricCollector<long>(gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "llm_gateway.judge.judgements");

        var judged = await PostAsync(gateway, "sk-compared");
        await judgements.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(30));

        var verdict = Assert.Single(await gateway.Services.GetRequiredService<ILlmJudgementStore>().ListAsync("summaries", default).ToListAsync());
        var opponent = judged.Arm == "mini" ? ("sonnet", "anthropic") : ("mini", "openai");
        Assert.Equal((judged.Arm, opponent.Item1), (verdict.Arm, verdict.Opponent));
        // The other arm answered the same request, for the comparison: the judge's spend, on that arm.
        var replayed = fixture.Upstream.Calls.Last(c => c.Provider == opponent.Item2 && c.Body.ToJsonString().Contains(judged.Text));
        Assert.False(replayed.Body["stream"]?.GetValue<bool>() ?? false);
        Assert.Equal((LlmCallRole.Judge, opponent.Item1), await _sink.WaitForAsync(r => r.Role == LlmCallRole.Judge && r.Provider == opponent.Item2) is var record ? (record.Role, record.Arm) : default);
        // Answers are shown in a random order; the verdict is the judged answer's: it won if it was B.
        var asked = fixture.Upstream.Calls.Last(c => c.Provider == "mistral" && c.Body.ToJsonString().Contains(judged.Text)).Body["messages"]![1]!["content"]!.GetValue<string>();
        var judgedWasB = asked.IndexOf("Answer B:\nHello from " + judged.Provider, StringComparison.Ordinal) >= 0;
        Assert.Equal(judgedWasB ? 1d : 0d, verdict.Score);
    }

    [Fact]
    public async Task TheReportRecommendsTheCheapestArmNotSignificantlyWorseThanTheBestForEachTask()
    {
        string[] mini, sonnet;
        await using (var finder = await StartAsync()) // arms are sticky across instances: found here, used on the judged one
        {
            var found = new List<(string Key, string? Arm)>();
            for (var i = 0; found.Count(f => f.Arm == "mini") < 6 || found.Count(f => f.Arm == "sonnet") < 6; i++)
            {
                found.Add(($"sk-report-{i}", (await PostAsync(finder, $"sk-report-{i}")).Arm));
            }

            (mini, sonnet) = ([.. found.Where(f => f.Arm == "mini").Select(f => f.Key)], [.. found.Where(f => f.Arm == "sonnet").Select(f => f.Key)]);
        }

        var settings = new Dictionary<string, string?>(Summaries) { ["LlmGateway:Judge:Model"] = "mistral/mistral-small-latest", ["LlmGateway:Judge:SampleRate"] = "1" };
        await using var gateway = await StartAsync(settings);
        using var judgements = new MetricCollector<long>(gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "llm_gateway.judge.judgements");
        // On summaries both arms do about as well; on "hard" questions mini falls well behind.
        (string Key, string? Task, int Score)[] calls =
        [
            (mini[0], null, 8), (sonnet[0], null, 9), (mini[1], null, 8), (sonnet[1], null, 9), (mini[2], null, 9), (sonnet[2], null, 8),
            (mini[3], "hard", 2), (sonnet[3], "hard", 9), (mini[4], "hard", 2), (sonnet[4], "hard", 9), (mini[5], "hard", 3), (sonnet[5], "hard", 8),
        ];
        for (var i = 0; i < calls.Length; i++)
        {
            fixture.Upstream.Enqueue(new FakeFault { Provider = "mistral", Text = $$"""{"score": {{calls[i].Score}}, "rationale": "scored"}""" });
            await PostAsync(gateway, calls[i].Key, task: calls[i].Task);
            await judgements.WaitForMeasurementsAsync(i + 1, TimeSpan.FromSeconds(30));
        }

        var report = await gateway.Services.GetRequiredService<LlmExperiments>().ReportAsync("summaries");

        Assert.Equal(["hard", "summaries"], report.Tasks.Select(t => t.Task));
        var hard = report.Tasks[0];
        var summaries = report.Tasks[1];
        Assert.Equal(("sonnet", "mini"), (hard.Recommended, summaries.Recommended)); // mini is far cheaper, and as good on summaries
        Assert.All(report.Tasks.SelectMany(t => t.Arms), a => Assert.Equal((3L, 3, 0d), (a.Calls, a.Judged, a.ErrorRate)));
        var miniOnSummaries = summaries.Arms.Single(a => a.Arm == "mini");
        Assert.Equal(25d / 3, miniOnSummaries.MeanScore!.Value, 6);
        Assert.True(miniOnSummaries.ScoreLow < 25d / 3 && 25d / 3 < miniOnSummaries.ScoreHigh);
        Assert.True(miniOnSummaries.CostPerCall < summaries.Arms.Single(a => a.Arm == "sonnet").CostPerCall);
        Assert.Equal(miniOnSummaries.CostPerCall * 1000, miniOnSummaries.CostPer1000Calls);
        Assert.True(miniOnSummaries.LatencyP95Ms >= miniOnSummaries.LatencyP50Ms);
        Assert.Contains("not significantly lower", summaries.Reason);
    }

    [Fact]
    public async Task AnExperimentThatCouldNotSplitCallsFailsAtStartUp()
    {
        var settings = new Dictionary<string, string?>(Summaries) { ["LlmGateway:Experiments:summaries:Control"] = "opus", ["LlmGateway:Experiments:summaries:Arms:sonnet:Weight"] = "-1" };
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(settings));
        Assert.Contains("Control 'opus' is not one of its arms", failure.Message);
        Assert.Contains("Arms:sonnet", failure.Message);
    }

    /// <summary>A key whose calls the split sends to <paramref name="arm"/>.</summary>
    private async Task<string> FindCallerAsync(GatewayHost gateway, string arm)
    {
        for (var caller = 0; ; caller++)
        {
            if ((await PostAsync(gateway, $"sk-finds-{caller}")).Arm == arm)
            {
                return $"sk-finds-{caller}";
            }
        }
    }

    private async Task<(string? Arm, string Provider, string Text)> PostAsync(GatewayHost gateway, string key, string? arm = null, string? task = null, string model = "summarize")
    {
        var text = Guid.NewGuid().ToString("N");
        using var response = await SendAsync(gateway, key, arm, task, model, text: text);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var experiment = response.Headers.TryGetValues("x-llm-experiment", out var names) ? names.Single() : null;
        Assert.Equal(model == "summarize" ? "summaries" : null, experiment);
        var provider = fixture.Upstream.Calls.First(c => c.Body.ToJsonString().Contains(text)).Provider; // the call itself: a judge may replay or quote it after
        return (response.Headers.TryGetValues("x-llm-arm", out var arms) ? arms.Single() : null, provider, text);
    }

    private async Task<HttpResponseMessage> SendAsync(GatewayHost gateway, string key, string? arm = null, string? task = null, string model = "summarize", string? metadataTask = null, string text = "hello", string? session = null, string? user = null)
    {
        object body = metadataTask is null
            ? new { model, max_tokens = 16, user, messages = new[] { new { role = "user", content = text } } }
            : new { model, max_tokens = 16, user, messages = new[] { new { role = "user", content = text } }, metadata = new { task = metadataTask } };
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + "/v1/chat/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (arm is not null)
        {
            request.Headers.Add("x-llm-arm", arm);
        }

        if (task is not null)
        {
            request.Headers.Add("x-llm-task", task);
        }

        if (session is not null)
        {
            request.Headers.Add("x-llm-session", session);
        }

        return await fixture.Http.SendAsync(request);
    }
}

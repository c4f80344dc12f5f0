using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace LlmMiddleware.FunctionalTests;

/// <summary>The PostgreSQL ledger against a real server: nothing lost on a graceful stop or restart, what was flushed
/// survives a kill, retried batches never double-counted, a slow database never delays a response, a record it cannot
/// store is quarantined alone and a failing sink never holds it back.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class LedgerTests(PostgreSqlServer postgres) : IAsyncLifetime
{
    private readonly HttpClient _http = new();
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task AGracefulStopOrRestartLosesNoRecord()
    {
        var database = await postgres.CreateDatabaseAsync();

        // A flush interval far longer than the test: every record written got there through the shutdown flush.
        await using (var first = await StartGatewayAsync(database, flushInterval: "01:00:00"))
        {
            await CallAsync(first, 20);
            await first.StopAsync();
        }

        Assert.Equal(20L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records"));

        await using (var restarted = await StartGatewayAsync(database, flushInterval: "01:00:00"))
        {
            await CallAsync(restarted, 5);
            await restarted.StopAsync();
        }

        Assert.Equal(25L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records"));
        Assert.Equal(25L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(DISTINCT request_id) FROM llm_call_records"));
        // Each call: 11 prompt and 7 output tokens at gpt-4o-mini's price (3 of the prompt cached).
        Assert.Equal(25 * 0.000005625m, await PostgreSqlServer.ScalarAsync<decimal>(database, "SELECT sum(cost) FROM llm_call_records"));
        Assert.Equal(12L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records WHERE stream AND token_source = 'Provider' AND status = 'Succeeded'"));
    }

    [Fact]
    public async Task RecordsFlushedBeforeAnAbruptKillSurviveIt()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var added = await PostgreSqlServer.ListenAsync(database, "llm_call_records");
        var port = SampleTests.FreePort();
        var process = await SampleTests.StartAsync("Gateway", port, $"--LlmGateway:Ledger:ConnectionString={database}", "--LlmGateway:Metering:FlushInterval=00:00:00.200");
        try
        {
            for (var i = 0; i < 15; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/v1/chat/completions") { Content = Json("""{"model":"default","messages":[{"role":"user","content":"hello"}]}""") };
                request.Headers.Authorization = new("Bearer", SampleTests.DemoKey);
                using var response = await _http.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            // Wait until the ledger says every record is committed (never for a fixed time: a busy machine flushes late),
            // then kill without any chance to flush again.
            await added.WaitForSumAsync(15);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        Assert.Equal(15L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records"));
        // Priced at the sample's demo prices for the simulated provider.
        Assert.Equal(15L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records WHERE provider = 'simulated' AND cost > 0 AND price_version = 'demo'"));
    }

    [Fact]
    public async Task APostgreSqlOutageLosesNoRecordAfterAGracefulStop()
    {
        var database = await postgres.CreateDatabaseAsync();
        var clock = new ObservedClock();
        await using var gateway = await GatewayHost.StartAsync(
            _upstream,
            b =>
            {
                b.Services.AddLlmGateway().AddPostgreSqlLedger(database);
                b.Services.AddSingleton<TimeProvider>(clock);
                b.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
                b.Logging.AddFakeLogging();
            },
            settings: new Dictionary<string, string?> { ["LlmGateway:Metering:FlushInterval"] = "00:00:00.050" });
        var log = gateway.Services.GetRequiredService<FakeLogCollector>();
        using var written = new MetricCollector<long>(gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "llm_gateway.metering.written");
        await CallAsync(gateway, 4);

        // Each batch is written when its 50 ms window closes on the gateway's clock: moved once per window opened.
        while (written.GetMeasurementSnapshot().Sum(m => m.Value) < 4)
        {
            var measured = written.GetMeasurementSnapshot().Count;
            await clock.ScheduledAsync(TimeSpan.FromMilliseconds(50));
            clock.Advance(TimeSpan.FromMilliseconds(50));
            await written.WaitForMeasurementsAsync(measured + 1, TimeSpan.FromMinutes(1));
        }

        Assert.Equal(4L, await PostgreSqlServer.RowsAsync(database, "llm_call_records"));

        await postgres.StopAsync();
        try
        {
            // Calls are answered while the ledger's writes fail (the token only guards against a hang), and the outage
            // lasts on the gateway's clock until the ledger backs off for its longest delay.
            using var hang = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await CallAsync(gateway, 20, hang.Token);

            // Each failed write waits out its backoff (or a batch its window) on the gateway's clock: moved by exactly
            // that once it is set, until the backoff reaches its longest delay.
            while (!log.GetSnapshot().Any(r => r.Id.Name == "SinkFailed" && r.Message.Contains("retrying in 30 s", StringComparison.Ordinal)))
            {
                clock.Advance(await clock.ScheduledAsync(due => due <= TimeSpan.FromSeconds(30)));
            }
        }
        finally
        {
            await postgres.StartAsync();
        }

        // The clock stands still: a graceful stop must retry at once rather than wait out the 30 s backoff.
        await CallAsync(gateway, 4);
        await gateway.StopAsync();

        Assert.Equal(28L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records"));
    }

    /// <summary>Instances starting together against a fresh database create its tables once, without failing.</summary>
    [Fact]
    public async Task InstancesStartingTogetherCreateTheSchemaWithoutARace()
    {
        for (var round = 0; round < 5; round++)
        {
            var database = await postgres.CreateDatabaseAsync();
            var providers = Enumerable.Range(0, 4).Select(_ =>
            {
                var services = new ServiceCollection();
                services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
                services.AddLlmGateway().AddPostgreSqlLedger(database).AddPostgreSqlCache(database);
                return services.BuildServiceProvider();
            }).ToList();
            try
            {
                await Task.WhenAll(providers.Select(p => p.GetServices<ILlmCallRecordSink>().Single().WriteAsync(
                    [new LlmCallRecord { Id = Guid.CreateVersion7(), RequestId = "r", Timestamp = DateTimeOffset.UtcNow, Operation = "chat", RequestedModel = "gpt" }], default).AsTask()));
                Assert.Equal(4L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records"));
            }
            finally
            {
                foreach (var provider in providers)
                {
                    await provider.DisposeAsync();
                }
            }
        }
    }

    [Fact]
    public async Task ARetriedBatchIsNotCountedTwice()
    {
        var database = await postgres.CreateDatabaseAsync();
        var services = new ServiceCollection();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddLlmGateway().AddPostgreSqlLedger(database);
        await using var provider = services.BuildServiceProvider();
        var ledger = provider.GetServices<ILlmCallRecordSink>().Single();
        var batch = Enumerable.Range(0, 3).Select(i => new LlmCallRecord
        {
            Id = Guid.CreateVersion7(),
            RequestId = $"r{i}",
            Timestamp = DateTimeOffset.UtcNow,
            Caller = new LlmCallerIdentity { Team = "t", Tags = new Dictionary<string, string> { ["env"] = "test" } },
            Operation = "chat",
            RequestedModel = "gpt",
            InputTokens = 10,
            Cost = 0.000001m,
        }).ToList();

        await ledger.WriteAsync(batch, default);
        await ledger.WriteAsync(batch, default);

        Assert.Equal(3L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records"));
        Assert.Equal("test", await PostgreSqlServer.ScalarAsync<string>(database, "SELECT tags->>'env' FROM llm_call_records LIMIT 1"));
    }

    [Fact]
    public async Task AnUnresponsiveDatabaseNeverDelaysResponses()
    {
        // Accepts connections and never answers: every ledger write hangs until it times out.
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start();
        var accepted = blackHole.AcceptTcpClientAsync();
        var database = $"Host=127.0.0.1;Port={((IPEndPoint)blackHole.LocalEndpoint).Port};Username=postgres;Timeout=60;Command Timeout=60";
        await using var gateway = await StartGatewayAsync(database, flushInterval: "00:00:00.010");

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await CallAsync(gateway, 6, timeout.Token);
        using var client = await accepted.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(client.Connected, "the ledger should be trying to write");
    }

    [Fact]
    public async Task ARecordPostgreSqlCannotStoreNeverHoldsBackTheOthers()
    {
        var database = await postgres.CreateDatabaseAsync();
        var metrics = new List<(long Value, string? Reason)>();
        await using (var gateway = await StartGatewayAsync(database, flushInterval: "01:00:00"))
        {
            using var dropped = new MetricCollector<long>(gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "llm_gateway.metering.dropped");

            // One batch at shutdown holds everything: text PostgreSQL refuses (NUL), text longer than an index entry
            // allows, and a provider's usage whose cost no numeric(20, 10) holds.
            await PostAsync(gateway, "/v1/chat/completions", """{"model":"gpt","user":"a\u0000b","messages":[{"role":"user","content":"hi"}]}""");
            await PostAsync(gateway, "/v1/chat/completions", """{"model":"gpt\u0000x","messages":[{"role":"user","content":"hi"}]}""", HttpStatusCode.NotFound);
            await PostAsync(gateway, "/v1/messages", $$"""{"model":"gpt","max_tokens":10,"metadata":{"user_id":"{{new string('u', 5000)}}"},"messages":[{"role":"user","content":"hi"}]}""");
            _upstream.Enqueue(new FakeFault
            {
                Status = 200,
                Provider = "openai",
                Body = """{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":100000000000000000,"completion_tokens":1,"total_tokens":100000000000000001}}""",
            });
            await PostAsync(gateway, "/v1/chat/completions", """{"model":"gpt","messages":[{"role":"user","content":"hi"}]}""");
            await CallAsync(gateway, 4);
            await gateway.StopAsync();
            metrics.AddRange(dropped.GetMeasurementSnapshot().Select(m => (m.Value, m.Tags.TryGetValue("llm_gateway.drop.reason", out var reason) ? reason as string : null)));
        }

        Assert.Equal(7L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records"));
        Assert.Equal(1L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records WHERE user_id = 'a\uFFFDb'"));
        Assert.Equal(1L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records WHERE requested_model = 'gpt\uFFFDx'"));
        Assert.Equal(new string('u', 512) + "…", await PostgreSqlServer.ScalarAsync<string>(database, "SELECT user_id FROM llm_call_records WHERE length(user_id) > 100"));
        Assert.Equal([(1L, "rejected")], metrics);
    }

    [Fact]
    public async Task ADownSinkNeverHoldsBackTheLedger()
    {
        var database = await postgres.CreateDatabaseAsync();
        var export = new UnreachableExport();
        await using var gateway = await GatewayHost.StartAsync(
            _upstream,
            b => b.Services.AddLlmGateway().AddPostgreSqlLedger(database).Services.AddSingleton<ILlmCallRecordSink>(export),
            settings: new Dictionary<string, string?> { ["LlmGateway:Metering:FlushInterval"] = "00:00:00.010" });
        using var written = new MetricCollector<long>(gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "llm_gateway.metering.written");

        await CallAsync(gateway, 6);

        // The export fails every write and is retried with backoff; the ledger, fed on its own, gets every record.
        await written.SumAsync(6, Measured.Tagged("llm_gateway.sink", "PostgreSqlCallLedger"));

        Assert.Equal(6L, await PostgreSqlServer.RowsAsync(database, "llm_call_records"));
        Assert.True(export.Attempts > 0);
        Assert.DoesNotContain(written.GetMeasurementSnapshot(), m => (string?)m.Tags["llm_gateway.sink"] == nameof(UnreachableExport));
    }

    /// <summary>With no notify channel the batches are inserted as they are (the notification wraps the insert).</summary>
    [Fact]
    public async Task ALedgerWithoutANotifyChannelStillWritesEveryRecord()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var gateway = await GatewayHost.StartAsync(
            _upstream,
            b => b.Services.AddLlmGateway().AddPostgreSqlLedger(o => (o.ConnectionString, o.NotifyChannel) = (database, "")),
            settings: new Dictionary<string, string?> { ["LlmGateway:Metering:FlushInterval"] = "00:00:00.010" });
        using var written = new MetricCollector<long>(gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "llm_gateway.metering.written");

        await CallAsync(gateway, 3);
        await written.SumAsync(3);

        Assert.Equal(3L, await PostgreSqlServer.RowsAsync(database, "llm_call_records"));
    }

    [Fact]
    public async Task LedgerSettingsAreValidatedAtStartup()
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => GatewayHost.StartAsync(
            _upstream,
            b => b.Services.AddLlmGateway().AddPostgreSqlLedger(o => (o.TableName, o.NotifyChannel) = ("records; DROP TABLE x", "x'); DROP TABLE y; --"))));

        Assert.Contains("ConnectionString", ex.Message);
        Assert.Contains("TableName must be a plain identifier", ex.Message);
        Assert.Contains("NotifyChannel must be a plain identifier", ex.Message);
    }

    [Fact]
    public async Task TheLedgerNamesTheTokenizerThatCounted()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using (var gateway = await StartGatewayAsync(database, flushInterval: "01:00:00"))
        {
            await CallAsync(gateway, 1);
            using var response = await _http.PostAsync(gateway.BaseUrl + "/v1/embeddings", Json("""{"model":"gemini/text-embedding-004","input":"hello"}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await gateway.StopAsync();
        }

        Assert.Equal("tiktoken:o200k_base", await PostgreSqlServer.ScalarAsync<string>(database, "SELECT tokenizer FROM llm_call_records WHERE operation = 'embeddings'"));
        Assert.Equal(1L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records WHERE operation = 'chat' AND tokenizer IS NULL"));
    }

    [Fact]
    public async Task TheJudgesVerdictsAreKeptBesideTheRecordsTheyJudged()
    {
        var database = await postgres.CreateDatabaseAsync();
        var settings = new Dictionary<string, string?>
        {
            ["LlmGateway:Experiments:trial:Arms:a:Model"] = "gpt",
            ["LlmGateway:Experiments:trial:Arms:b:Model"] = "claude",
            ["LlmGateway:Judge:Model"] = "mistral/mistral-small-latest",
            ["LlmGateway:Judge:SampleRate"] = "1",
            ["LlmGateway:Metering:FlushInterval"] = "01:00:00",
        };
        _upstream.Enqueue(new FakeFault { Provider = "mistral", Text = """{"score": 6.5, "rationale": "Adequate."}""" });
        var gateway = await GatewayHost.StartAsync(_upstream, b => b.Services.AddLlmGateway().AddExperiments().AddPostgreSqlLedger(database), settings: settings);
        using var judged = new MetricCollector<long>(gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "llm_gateway.judge.judgements");
        await PostAsync(gateway, "/v1/chat/completions", """{"model":"trial","messages":[{"role":"user","content":"judge me"}]}""");
        await judged.WaitForMeasurementsAsync(1, TimeSpan.FromSeconds(30));
        var kept = await gateway.Services.GetRequiredService<ILlmJudgementStore>().ListAsync("trial", default).ToListAsync();
        await gateway.StopAsync(); // flushes the records
        await gateway.DisposeAsync();

        var verdict = Assert.Single(kept);
        Assert.Equal((6.5, "Adequate."), (verdict.Score, verdict.Rationale));
        // The verdict names the judged call's ledger row; the judge's own call is a row too, attributed to the experiment.
        Assert.Equal(verdict.Arm, await PostgreSqlServer.ScalarAsync<string>(database, "SELECT r.arm FROM llm_judgements j JOIN llm_call_records r ON r.id = j.record_id WHERE r.role = 'Primary'"));
        Assert.Equal(1L, await PostgreSqlServer.ScalarAsync<long>(database, "SELECT count(*) FROM llm_call_records WHERE role = 'Judge' AND experiment = 'trial' AND provider = 'mistral'"));
    }

    [Fact]
    public async Task AnExperimentsReportCountsEveryInstancesCalls()
    {
        var database = await postgres.CreateDatabaseAsync();
        var settings = new Dictionary<string, string?> { ["LlmGateway:Experiments:trial:Arms:a:Model"] = "gpt", ["LlmGateway:Experiments:trial:Arms:b:Model"] = "claude" };
        Task<GatewayHost> StartAsync() => GatewayHost.StartAsync(_upstream, b => b.Services.AddLlmGateway().AddExperiments().AddPostgreSqlLedger(database), settings: settings);
        foreach (var calls in new[] { 3, 4 })
        {
            await using var instance = await StartAsync();
            for (var i = 0; i < calls; i++)
            {
                await PostAsync(instance, "/v1/chat/completions", """{"model":"trial","messages":[{"role":"user","content":"count me"}]}""");
            }

            await instance.StopAsync(); // flushes its records
        }

        await using var reader = await StartAsync();
        var report = await reader.Services.GetRequiredService<LlmExperiments>().ReportAsync("trial");

        var arms = Assert.Single(report.Tasks).Arms;
        Assert.Equal(7, arms.Sum(a => a.Calls)); // both earlier instances' calls, though this one made none
        Assert.All(arms, a => Assert.True(a.CostPerCall > 0m && a.LatencyP50Ms > 0, $"{a.Arm}: {a}"));
    }

    private Task<GatewayHost> StartGatewayAsync(string database, string flushInterval) => GatewayHost.StartAsync(
        _upstream,
        b => b.Services.AddLlmGateway().AddPostgreSqlLedger(database),
        settings: new Dictionary<string, string?> { ["LlmGateway:Metering:FlushInterval"] = flushInterval });

    /// <summary>Makes <paramref name="count"/> calls to gpt-4o-mini, every other one streamed.</summary>
    private async Task CallAsync(GatewayHost gateway, int count, CancellationToken cancellationToken = default)
    {
        for (var i = 0; i < count; i++)
        {
            var stream = i % 2 == 1 ? "true" : "false";
            using var response = await _http.PostAsync(gateway.BaseUrl + "/v1/chat/completions", Json($$"""{"model":"gpt","stream":{{stream}},"messages":[{"role":"user","content":"hi"}]}"""), cancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsStringAsync(cancellationToken);
        }
    }

    private async Task PostAsync(GatewayHost gateway, string path, string body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await _http.PostAsync(gateway.BaseUrl + path, Json(body));
        Assert.True(expected == response.StatusCode, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>A host's billing export whose endpoint is down.</summary>
    private sealed class UnreachableExport : ILlmCallRecordSink
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public ValueTask WriteAsync(IReadOnlyList<LlmCallRecord> records, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _attempts);
            throw new HttpRequestException("The billing export is unreachable.");
        }
    }
}

using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>The samples, run as their own processes exactly as the README runs them, with no provider keys.</summary>
public sealed class SampleTests
{
    /// <summary>The demo key samples/Gateway ships in its appsettings.json.</summary>
    internal const string DemoKey = "sk-llm-demo-change-me-0000000000";

    private static string SampleDll(string name)
    {
        var configuration = typeof(SampleTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "LlmMiddleware.sln")))
        {
            directory = directory.Parent;
        }

        return Path.Combine(directory!.FullName, "samples", name, "bin", configuration, "net10.0", name + ".dll");
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    internal static Task<Process> StartAsync(string sample, int port, params string[] extraArgs) =>
        StartAsync(sample, port, new Dictionary<string, string>(), extraArgs);

    internal static async Task<Process> StartAsync(string sample, int port, IReadOnlyDictionary<string, string> environment, params string[] extraArgs)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(SampleDll(sample))! };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        info.ArgumentList.Add(SampleDll(sample));
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add($"http://127.0.0.1:{port}");
        foreach (var arg in extraArgs)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var variable in new[] { "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY" })
        {
            info.Environment.Remove(variable);
        }

        // Demo traffic would muddle what the tests count; the test of the dashboard turns it back on.
        if (!extraArgs.Any(a => a.StartsWith("--Demo:Traffic=", StringComparison.Ordinal)))
        {
            info.ArgumentList.Add("--Demo:Traffic=false");
        }

        // The host says when it listens (its lifetime messages are on whatever the sample's log levels say).
        info.ArgumentList.Add("--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information");
        var process = ConsoleLines.Start(info);
        var console = ConsoleLines.Of(process);
        await console.UntilAsync("Now listening on:");
        if (console.Exited)
        {
            throw new InvalidOperationException($"{sample} did not start: {await process.StandardError.ReadToEndAsync()}");
        }

        return process;
    }

    [Fact]
    public async Task GatewaySampleServesOperatorEndpointsOnlyToTheOperatorKey()
    {
        var open = FreePort();
        var keyed = FreePort();
        using var withoutKey = await StartAsync("Gateway", open);
        using var withKey = await StartAsync("Gateway", keyed, "--LlmGateway:OperatorKey=op-secret");
        using var http = new HttpClient();
        try
        {
            foreach (var path in new[] { "/llm/spend?groupBy=key", "/llm/deployments" })
            {
                Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"http://127.0.0.1:{open}{path}")).StatusCode);
                Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, $"http://127.0.0.1:{open}{path}", "Bearer ")).StatusCode);
                Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"http://127.0.0.1:{keyed}{path}")).StatusCode);
                Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(http, $"http://127.0.0.1:{keyed}{path}", "Bearer op-secreT")).StatusCode);
                using var allowed = await SendAsync(http, $"http://127.0.0.1:{keyed}{path}", "Bearer op-secret");
                Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
                Assert.Equal("application/json", allowed.Content.Headers.ContentType?.MediaType);
            }

            // Callers of the gateway itself use their own keys, not the operator's.
            using var chat = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{keyed}/v1/chat/completions") { Content = new StringContent("""{"model":"default","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json") };
            chat.Headers.TryAddWithoutValidation("Authorization", "Bearer " + DemoKey);
            Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(chat)).StatusCode);
        }
        finally
        {
            withoutKey.Kill(entireProcessTree: true);
            withKey.Kill(entireProcessTree: true);
        }

        static async Task<HttpResponseMessage> SendAsync(HttpClient http, string url, string authorization)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
            return await http.SendAsync(request);
        }
    }

    [Fact]
    public async Task GatewaySampleIssuesKeysAndSetsBudgetsThroughItsAdminApiForTheOperatorOnly()
    {
        var port = FreePort();
        using var gateway = await StartAsync("Gateway", port, "--LlmGateway:OperatorKey=op-secret");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        try
        {
            using var anonymous = await http.PostAsync("/llm/admin/keys", new StringContent("""{"team":"me"}""", System.Text.Encoding.UTF8, "application/json"));
            using var create = new HttpRequestMessage(HttpMethod.Post, "/llm/admin/keys") { Content = new StringContent("""{"team":"me"}""", System.Text.Encoding.UTF8, "application/json") };
            create.Headers.TryAddWithoutValidation("Authorization", "Bearer op-secret");
            using var created = await http.SendAsync(create);
            var issued = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
            var secret = issued.GetProperty("secret").GetString()!;
            var id = issued.GetProperty("key").GetProperty("id").GetString()!;
            var openai = new OpenAIClient(new ApiKeyCredential(secret), new OpenAIClientOptions { Endpoint = new Uri($"http://127.0.0.1:{port}/v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) }).GetChatClient("default");
            var anthropic = new AnthropicClient { ApiKey = secret, BaseUrl = $"http://127.0.0.1:{port}", MaxRetries = 0 };
            var message = new MessageCreateParams { Model = "default", MaxTokens = 50, Messages = [new UserMessageParam("hi")] };
            await openai.CompleteChatAsync([new UserChatMessage("hi")]);
            await anthropic.Messages.Create(message);
            using var budget = new HttpRequestMessage(HttpMethod.Put, "/llm/admin/budgets") { Content = new StringContent($$"""{"scope":"key","subject":"{{id}}","limit":0,"period":"total"}""", System.Text.Encoding.UTF8, "application/json") };
            budget.Headers.TryAddWithoutValidation("Authorization", "Bearer op-secret");
            using var budgeted = await http.SendAsync(budget);
            var refusedOpenAI = await Assert.ThrowsAsync<ClientResultException>(() => openai.CompleteChatAsync([new UserChatMessage("over budget")]));
            var refusedAnthropic = await Assert.ThrowsAsync<Anthropic.Exceptions.AnthropicRateLimitException>(() => anthropic.Messages.Create(message));

            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal(HttpStatusCode.OK, budgeted.StatusCode);
            Assert.Equal(429, refusedOpenAI.Status);
            Assert.Contains("budget_exceeded", refusedOpenAI.Message, StringComparison.Ordinal);
            Assert.Contains("rate_limit_error", refusedAnthropic.Message, StringComparison.Ordinal);
        }
        finally
        {
            gateway.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task GatewaySampleAnswersBothSdksThroughTheSimulatedProvider()
    {
        var port = FreePort();
        using var process = await StartAsync("Gateway", port);
        try
        {
            var openai = new OpenAIClient(new ApiKeyCredential(DemoKey), new OpenAIClientOptions { Endpoint = new Uri($"http://127.0.0.1:{port}/v1") }).GetChatClient("default");
            ChatCompletion completion = await openai.CompleteChatAsync([new UserChatMessage("Hello sample")]);
            var experiment = await new OpenAIClient(new ApiKeyCredential(DemoKey), new OpenAIClientOptions { Endpoint = new Uri($"http://127.0.0.1:{port}/v1") })
                .GetChatClient("demo-experiment").CompleteChatAsync([new UserChatMessage("Hello experiment")]);
            var anthropic = new AnthropicClient { ApiKey = DemoKey, BaseUrl = $"http://127.0.0.1:{port}", MaxRetries = 0 };
            var streamed = "";
            await foreach (var e in anthropic.Messages.CreateStreaming(new MessageCreateParams { Model = "default", MaxTokens = 100, Messages = [new UserMessageParam("Hello stream")] }))
            {
                if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var text))
                {
                    streamed += text.Text;
                }
            }

            Assert.StartsWith("[simulated]", completion.Content[0].Text);
            Assert.Contains("Hello sample", completion.Content[0].Text);
            Assert.StartsWith("[simulated]", streamed);
            Assert.Contains("Hello stream", streamed);
            // The sample's demo experiment over the simulated provider: the arm is in the response headers.
            Assert.True(experiment.GetRawResponse().Headers.TryGetValue("x-llm-experiment", out var name) && name == "demo");
            Assert.True(experiment.GetRawResponse().Headers.TryGetValue("x-llm-arm", out var arm) && arm is "echo" or "echo-large");
            Assert.StartsWith("[simulated]", experiment.Value.Content[0].Text);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task GatewaySampleRequiresItsDemoKeyAndPrintsItOnItsStartPage()
    {
        var port = FreePort();
        using var process = await StartAsync("Gateway", port);
        try
        {
            using var http = new HttpClient();
            var page = await http.GetStringAsync($"http://127.0.0.1:{port}/");
            var openai = new OpenAIClient(new ApiKeyCredential("sk-llm-guessed"), new OpenAIClientOptions { Endpoint = new Uri($"http://127.0.0.1:{port}/v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) }).GetChatClient("default");
            var refused = await Assert.ThrowsAsync<ClientResultException>(() => openai.CompleteChatAsync([new UserChatMessage("no")]));
            var anthropic = new AnthropicClient { ApiKey = "sk-llm-guessed", BaseUrl = $"http://127.0.0.1:{port}", MaxRetries = 0 };
            await Assert.ThrowsAsync<Anthropic.Exceptions.AnthropicUnauthorizedException>(() => anthropic.Messages.Create(new MessageCreateParams { Model = "default", MaxTokens = 10, Messages = [new UserMessageParam("no")] }));

            Assert.Contains("Demo key: " + DemoKey, page);
            Assert.Contains("Bearer " + DemoKey, page);
            Assert.Equal(401, refused.Status);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task GatewaySampleShowsAPopulatedDashboardToItsDemoCredentials()
    {
        await DebianPackages.EnsureAsync("chromium", "/usr/bin/chromium");
        var port = FreePort();
        using var process = await StartAsync("Gateway", port, "--Demo:Traffic=true"); // as shipped
        try
        {
            using var http = new HttpClient();
            var page = await http.GetStringAsync($"http://127.0.0.1:{port}/");
            var password = System.Text.RegularExpressions.Regex.Match(page, "user operator, password (op-demo-[0-9a-f]+)").Groups[1].Value;
            await ConsoleLines.Of(process).UntilAsync("Demo traffic sent");
            await UntilJudgedAsync(port, password); // the judge works off the calls' path: its verdicts trail them
            using var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"] });
            var signedIn = await (await browser.NewContextAsync(new() { HttpCredentials = new() { Username = "operator", Password = password } })).NewPageAsync();
            var response = await signedIn.GotoAsync($"http://127.0.0.1:{port}/llm/dashboard");
            await signedIn.WaitForSelectorAsync("body[data-ready=true]", new() { State = Microsoft.Playwright.WaitForSelectorState.Attached });
            await signedIn.ScreenshotAsync(new() { Path = Path.Combine(AppContext.BaseDirectory, "screenshots", "sample-dashboard.png"), FullPage = true });
            var spendRows = await signedIn.Locator("[data-testid=spend-table] tbody tr").CountAsync();
            var arms = await signedIn.Locator("#experiment-reports table[data-experiment=demo] tbody tr").AllInnerTextsAsync();
            var wrong = await (await browser.NewContextAsync(new() { HttpCredentials = new() { Username = "operator", Password = "op-demo-guessed" } })).APIRequest.GetAsync($"http://127.0.0.1:{port}/llm/dashboard/api/spend");

            Assert.NotEmpty(password);
            Assert.Equal(200, response!.Status);
            Assert.True(spendRows >= 2, $"{spendRows} spend rows"); // the default model and the experiment's arms
            Assert.Equal(2, arms.Count); // both arms served the demo traffic...
            Assert.All(arms, arm => Assert.Matches(@"\t\d\.\d\d\t", arm)); // ...and the simulated judge scored them
            Assert.Equal(401, wrong.Status);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Waits until the judge has scored both arms of the sample's demo experiment, asking its report.</summary>
    private static async Task UntilJudgedAsync(int port, string password)
    {
        using var http = new HttpClient { DefaultRequestHeaders = { Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("operator:" + password))) } };
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (true)
        {
            var experiments = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/llm/dashboard/api/experiments", deadline.Token)).RootElement;
            var arms = experiments.EnumerateArray().Single(e => e.GetProperty("name").GetString() == "demo").GetProperty("report").GetProperty("tasks").EnumerateArray()
                .SelectMany(t => t.GetProperty("arms").EnumerateArray()).ToList();
            if (arms.Count == 2 && arms.All(a => a.TryGetProperty("judged", out var judged) && judged.GetInt32() >= 2))
            {
                return;
            }

            await Task.Delay(100, deadline.Token); // between questions; what is awaited is the report's state
        }
    }

    [Fact]
    public async Task GatewaySampleServesItsMetricsToAPrometheusScrape()
    {
        var port = FreePort();
        using var process = await StartAsync("Gateway", port, "--LlmGateway:Cache:Mode=Exact", "--Logging:LogLevel:LlmMiddleware.Gateway.CallFraming=Debug");
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), DefaultRequestHeaders = { { "Authorization", "Bearer " + DemoKey } } };
            for (var i = 0; i < 2; i++)
            {
                using var plain = await http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"default","messages":[{"role":"user","content":"Scrape me"}]}""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
            }

            using var streamed = await http.PostAsync("/v1/chat/completions", new StringContent("""{"model":"default","stream":true,"messages":[{"role":"user","content":"Stream me"}]}""", Encoding.UTF8, "application/json"));
            await streamed.Content.ReadAsStringAsync();

            // Calls are recorded as they complete, just after their last byte; each then logs its end (at Debug).
            await ConsoleLines.Of(process).UntilAsync("LlmMiddleware.Gateway.CallFraming[4]", count: 3);
            using var response = await http.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
            var metrics = await response.Content.ReadAsStringAsync();

            Assert.Contains("gen_ai_server_time_to_first_token_seconds_bucket{", metrics);
            Assert.Contains("gen_ai_client_operation_duration_seconds_count{", metrics);
            Assert.Matches("""llm_gateway_tokens_total\{[^}]*llm_gateway_token_type="input"[^}]*\} [1-9]""", metrics);
            Assert.Matches("""llm_gateway_tokens_total\{[^}]*llm_gateway_token_type="output"[^}]*\} [1-9]""", metrics);
            Assert.Matches("""llm_gateway_cache_requests_total\{[^}]*llm_gateway_cache_outcome="hit_exact"[^}]*\} 1""", metrics);
            Assert.Matches("""llm_gateway_cache_requests_total\{[^}]*llm_gateway_cache_outcome="miss"[^}]*\} 2""", metrics);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task GatewaySampleExportsMetricsAndTracesOverOtlpWhenAnEndpointIsSet()
    {
        // A stand-in OTLP/HTTP collector: it records which signals arrive, in OTLP's protobuf encoding.
        var received = new System.Collections.Concurrent.ConcurrentDictionary<string, string>();
        var bothArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var collector = builder.Build();
        collector.MapPost("/v1/{signal}", async (string signal, Microsoft.AspNetCore.Http.HttpRequest request) =>
        {
            await request.Body.CopyToAsync(Stream.Null);
            received[signal] = request.ContentType ?? "";
            if (received.ContainsKey("metrics") && received.ContainsKey("traces"))
            {
                bothArrived.TrySetResult();
            }

            return Microsoft.AspNetCore.Http.Results.Ok();
        });
        await collector.StartAsync();
        var port = FreePort();
        using var process = await StartAsync("Gateway", port, new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Urls.First(),
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        });
        try
        {
            using var http = new HttpClient { DefaultRequestHeaders = { { "Authorization", "Bearer " + DemoKey } } };
            using var response = await http.PostAsync($"http://127.0.0.1:{port}/v1/chat/completions", new StringContent("""{"model":"default","messages":[{"role":"user","content":"Export me"}]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

            await bothArrived.Task.WaitAsync(TimeSpan.FromMinutes(2));
            Assert.Equal("application/x-protobuf", received["metrics"]);
            Assert.Equal("application/x-protobuf", received["traces"]);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task YarpEdgeSampleServesOrdinaryAndLlmRoutes()
    {
        var port = FreePort();
        var self = $"http://127.0.0.1:{port}";
        using var process = await StartAsync(
            "YarpEdge",
            port,
            $"--LlmGateway:Providers:local:BaseUrl={self}/local/v1",
            $"--ReverseProxy:Clusters:backend:Destinations:self:Address={self}",
            $"--ReverseProxy:Clusters:local:Destinations:self:Address={self}/local/v1");
        try
        {
            using var http = new HttpClient();
            using var ordinary = JsonDocument.Parse(await http.GetStringAsync($"{self}/api/hello"));
            var anthropic = new AnthropicClient { ApiKey = "any", BaseUrl = $"{self}/demo", MaxRetries = 0 };
            var message = await anthropic.Messages.Create(new MessageCreateParams { Model = "whatever", MaxTokens = 50, Messages = [new UserMessageParam("Hi edge")] });
            using var noKey = await http.PostAsync($"{self}/llm/v1/chat/completions", new StringContent("""{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

            Assert.Equal("ordinary service", ordinary.RootElement.GetProperty("backend").GetString());
            Assert.True(message.Content[0].TryPickText(out var text));
            Assert.StartsWith("[simulated]", text.Text);
            Assert.Equal(HttpStatusCode.BadRequest, noKey.StatusCode);
            Assert.Contains("OPENAI_API_KEY", await noKey.Content.ReadAsStringAsync());
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }
}

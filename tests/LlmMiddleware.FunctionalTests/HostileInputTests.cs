using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Inputs found to crash the gateway (500) in review: each is now a 4xx in the caller's protocol, or served.</summary>
public sealed class HostileInputTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    /// <summary>Duplicate fields are ambiguous — the gateway would route on one "model" while a provider reads another —
    /// so they are refused anywhere in the body.</summary>
    [Theory]
    [InlineData("/v1/chat/completions", """{"model":"gpt","model":"gpt","model":"x","messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("/v1/chat/completions", """{"model":"gpt","stream":true,"stream":false,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("/v1/chat/completions", """{"model":"gpt","messages":[{"role":"user","content":"hi","content":"bye"}]}""")]
    [InlineData("/v1/messages", """{"model":"claude","model":"gpt","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""")]
    [InlineData("/v1/embeddings", """{"model":"gpt","model":"x","input":"hi"}""")]
    public async Task DuplicateFieldsAreA400(string path, string body)
    {
        var (status, json) = await PostAsync(path, body);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("Duplicate", ErrorMessage(json), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Schemas nested past the gateway's depth limit are a 400 before any provider writer sees them; schemas
    /// within it are served by every provider kind (Gemini's writer re-reads them).</summary>
    [Theory]
    [InlineData("gem")]
    [InlineData("gpt")]
    [InlineData("claude")]
    [InlineData("simulated/echo")]
    public async Task DeepSchemasAreRefusedOrServedNeverA500(string model)
    {
        // Each level of nesting is two JSON levels (the schema and its "properties").
        var (tooDeep, refusal) = await PostAsync("/v1/chat/completions", WithSchemas(model, levels: 40));
        var (deep, body) = await PostAsync("/v1/chat/completions", WithSchemas(model, levels: 28));

        Assert.Equal(HttpStatusCode.BadRequest, tooDeep);
        Assert.Contains("depth", ErrorMessage(refusal), StringComparison.OrdinalIgnoreCase);
        Assert.True(deep == HttpStatusCode.OK, $"{deep}: {body.RootElement.GetRawText()}");
    }

    /// <summary>Found by the fuzz suite: a tool schema whose "properties" is not an object crashed the Gemini writer.</summary>
    [Theory]
    [InlineData("gem", "\"auto\"")]
    [InlineData("gem", "[1]")]
    [InlineData("claude", "\"auto\"")]
    [InlineData("simulated/echo", "\"auto\"")]
    public async Task AToolSchemaOfTheWrongShapeIsNeverA500(string model, string properties)
    {
        var (status, body) = await PostAsync("/v1/chat/completions", WithSchema(model, "{\"type\":\"object\",\"properties\":" + properties + "}"));

        Assert.True((int)status < 500, $"{status}: {body.RootElement.GetRawText()}");
    }

    [Fact]
    public async Task ANonStringInRequiredIsServedByTheSimulatedProvider()
    {
        const string schema = """{"type":"object","properties":{"a":{"type":"string"}},"required":[1,"a",null,{"x":1}]}""";
        var (status, body) = await PostAsync("/v1/chat/completions", WithSchema("simulated/echo", schema));

        Assert.True(status == HttpStatusCode.OK, $"{status}: {body.RootElement.GetRawText()}");
    }

    /// <summary>A provider's <c>retry-after-ms</c> is read in the invariant culture and only when sane.</summary>
    [Theory]
    [InlineData("1e20")]
    [InlineData("Infinity")]
    [InlineData("-5")]
    [InlineData("NaN")]
    [InlineData("1,5")]
    public async Task AnInsaneRetryAfterFromTheProviderIsIgnored(string value)
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, settings: new Dictionary<string, string?>
        {
            ["LlmGateway:Groups:g:Deployments:0:Provider"] = "openai",
            ["LlmGateway:Groups:g:Deployments:0:Model"] = "gpt-4o-mini",
        });
        fixture.Upstream.Enqueue(new FakeFault { Status = 429, Body = """{"error":{"message":"slow down","type":"rate_limit_error"}}""", Headers = { ["retry-after-ms"] = value } });

        using var response = await fixture.Http.PostAsync(gateway.BaseUrl + "/v1/chat/completions", new StringContent("""{"model":"g","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.True((int)response.StatusCode < 500, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>A provider that redirects elsewhere does not get the company's key carried there: the gateway follows no
    /// redirect (x-api-key, api-key and x-goog-api-key are not stripped by HTTP clients the way Authorization is).</summary>
    [Theory]
    [InlineData("claude", "/anthropic/v1/messages")]
    [InlineData("gem", "/gemini/v1beta/models/gemini-2.5-flash:generateContent")]
    public async Task AProviderRedirectIsNotFollowedWithTheKey(string model, string path)
    {
        await using var elsewhere = await FakeUpstream.StartAsync();
        fixture.Upstream.Enqueue(new FakeFault { Status = 307, Headers = { ["location"] = elsewhere.BaseUrl + path } });

        var (status, _) = await PostAsync("/v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        Assert.NotEqual(HttpStatusCode.OK, status);
        Assert.Empty(elsewhere.Calls);
    }

    /// <summary>A provider refusing the gateway's key is the operator's problem: the caller gets a 502 in its protocol
    /// without the provider's text, which for OpenAI shows part of the key.</summary>
    [Theory]
    [InlineData("/v1/chat/completions", "gpt")]
    [InlineData("/v1/messages", "gpt")]
    [InlineData("/v1/chat/completions", "claude")]
    public async Task AProviderRefusingTheGatewaysKeyIsA502WithoutTheKey(string path, string model)
    {
        fixture.Upstream.Enqueue(new FakeFault
        {
            Status = 401,
            Body = """{"error":{"message":"Incorrect API key provided: sk-proj-********************************abcd. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""",
        });

        var (status, body) = await PostAsync(path, "{\"model\":\"" + model + "\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        Assert.Equal(HttpStatusCode.BadGateway, status);
        Assert.DoesNotContain("abcd", body.RootElement.GetRawText());
        Assert.Contains("credentials", ErrorMessage(body));
    }

    [Fact]
    public async Task TheRefusalStaysOnTheCallsRecordForTheOperator()
    {
        var sink = new CollectingSink();
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddSingleton<ILlmCallRecordSink>(sink), settings: new Dictionary<string, string?> { ["LlmGateway:Metering:FlushInterval"] = "00:00:00.010" });
        fixture.Upstream.Enqueue(new FakeFault { Status = 401, Body = """{"error":{"message":"Incorrect API key provided: sk-proj-****abcd.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""" });

        using var response = await fixture.Http.PostAsync(gateway.BaseUrl + "/v1/chat/completions", new StringContent("""{"model":"gpt","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var record = await sink.WaitForAsync(r => r.Status == LlmCallStatus.Failed);
        Assert.Equal("invalid_api_key", record.ErrorCode);
    }

    /// <summary>Other provider errors keep their text, minus anything shaped like a key.</summary>
    [Theory]
    [InlineData("/v1/chat/completions", "gpt")]
    [InlineData("/v1/messages", "gpt")]
    public async Task KeysInOtherProviderErrorsAreRedacted(string path, string model)
    {
        fixture.Upstream.Enqueue(new FakeFault
        {
            Status = 400,
            Provider = "openai",
            Body = """{"error":{"message":"Project sk-proj-AbCdEf0123456789 cannot use this model; key AIzaSyA1234567890abcdefghijk is not for it.","type":"invalid_request_error","param":null,"code":null}}""",
        });

        var (status, body) = await PostAsync(path, "{\"model\":\"" + model + "\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("Project [redacted] cannot use this model; key [redacted] is not for it.", ErrorMessage(body));
    }

    /// <summary>Made-up model names do not become metric series (they would grow without bound); a served model does.</summary>
    [Fact]
    public async Task MadeUpModelNamesAreNoMetricTagValues()
    {
        using var duration = new MetricCollector<double>(fixture.Gateway.Services.GetRequiredService<IMeterFactory>(), "LlmMiddleware", "gen_ai.client.operation.duration");
        foreach (var model in new[] { "nobody/x1", "nobody/x2", "made-up-alias", "gpt" })
        {
            await PostAsync("/v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        }

        var models = duration.GetMeasurementSnapshot().Select(m => m.Tags["gen_ai.request.model"] as string).ToList();
        Assert.Equal(["_other", "_other", "_other", "gpt"], models);
    }

    private static string WithSchemas(string model, int levels)
    {
        var schema = new StringBuilder();
        for (var i = 0; i < levels; i++)
        {
            schema.Append("""{"type":"object","properties":{"a":""");
        }

        schema.Append("""{"type":"string"}""");
        for (var i = 0; i < levels; i++)
        {
            schema.Append("}}");
        }

        return WithSchema(model, schema.ToString());
    }

    /// <summary>A chat request offering a tool and asking for structured output, both with <paramref name="schema"/>.</summary>
    private static string WithSchema(string model, string schema) =>
        "{\"model\":\"" + model + "\",\"max_tokens\":20,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]," +
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":" + schema + "}}]," +
        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"out\",\"schema\":" + schema + "}}}";

    private static string ErrorMessage(JsonDocument json) => json.RootElement.GetProperty("error").GetProperty("message").GetString()!;

    private async Task<(HttpStatusCode Status, JsonDocument Json)> PostAsync(string path, string body)
    {
        using var response = await fixture.Http.PostAsync(fixture.Gateway.BaseUrl + path, new StringContent(body, Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()));
    }
}

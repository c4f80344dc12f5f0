using System.Net;
using System.Text;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// OpenRouter-style routing a caller asks for on an OpenAI-protocol request (<c>models</c>, <c>provider: {order,
/// allow_fallbacks, sort}</c>), within what the host configured, against strict fake upstreams.
/// </summary>
public sealed class PerRequestRoutingTests : GroupGatewayTestBase
{
    private const string Key = "sk-llm-routing-test-key-000000000";
    private const string NarrowKey = "sk-llm-routing-narrow-key-0000000";

    protected override Dictionary<string, string?> Settings => new()
    {
        ["LlmGateway:Groups:solo:Deployments:0:Provider"] = "openai",
        ["LlmGateway:Groups:solo:Deployments:0:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:solo:MaxRetries"] = "0",
        // Priority order puts the pricier deployment first.
        ["LlmGateway:Groups:both:Deployments:0:Provider"] = "anthropic",
        ["LlmGateway:Groups:both:Deployments:0:Model"] = "claude-sonnet-4-5",
        ["LlmGateway:Groups:both:Deployments:1:Provider"] = "openai",
        ["LlmGateway:Groups:both:Deployments:1:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:both:MaxRetries"] = "0",
        ["LlmGateway:VirtualKeys:Keys:all:Secret"] = Key,
        ["LlmGateway:VirtualKeys:Keys:narrow:Secret"] = NarrowKey,
        ["LlmGateway:VirtualKeys:Keys:narrow:Models:0"] = "solo",
    };

    protected override void ConfigureServices(WebApplicationBuilder builder) => builder.Services.AddLlmGateway().AddVirtualKeys();

    private static string Body(string routing) => $$"""{"model":"solo","messages":[{"role":"user","content":"hi"}],{{routing}}}""";

    [Fact]
    public async Task AFailingModelFallsBackToTheCallersNextModelAndNoProviderSeesTheRoutingFields()
    {
        Upstream.Enqueue(new FakeFault { Status = 500, Body = """{"error":{"message":"The server had an error","type":"server_error"}}""" });

        var (status, text, _, context) = await PostChatAsync(Body("""  "models":["gemini/gemini-2.5-flash"]  """), Key);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Hello from gemini", text);
        Assert.Equal(["openai/gpt-4o-mini", "gemini/gemini-2.5-flash"], context.Attempts.Select(a => a.Deployment));
        Assert.Equal("solo", context.RequestedModel);
        Assert.DoesNotContain("\"models\"", Upstream.LastCall("openai").Body.ToJsonString());
        Assert.DoesNotContain("\"models\"", Upstream.LastCall("gemini").Body.ToJsonString());
    }

    [Fact]
    public async Task TheOfficialOpenAISdkSendsFallbackModelsThroughItsPatch()
    {
        Upstream.Enqueue(new FakeFault { Status = 500, Body = """{"error":{"message":"The server had an error","type":"server_error"}}""" });
        var options = new OpenAI.Chat.ChatCompletionOptions();
#pragma warning disable SCME0001 // JsonPatch is the SDK's way to send fields it does not model
        options.Patch.Set("$.models"u8, BinaryData.FromString("""["gemini/gemini-2.5-flash"]"""));
#pragma warning restore SCME0001

        var completion = await Sdks.OpenAI(Gateway, Key, "solo").CompleteChatAsync([new OpenAI.Chat.UserChatMessage("hi")], options);

        Assert.Contains("Hello from gemini", completion.Value.Content[0].Text);
    }

    [Fact]
    public async Task ProviderOrderPutsTheNamedProvidersFirst()
    {
        var (status, _, _, context) = await PostChatAsync(Body("""  "model":"both","provider":{"order":["openai"]}  """).Replace("\"model\":\"solo\",", ""), Key);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("openai", context.ProviderName);
        Assert.DoesNotContain("\"provider\"", Upstream.LastCall("openai").Body.ToJsonString());
    }

    [Fact]
    public async Task WithoutFallbacksOnlyTheNamedProvidersAreTried()
    {
        Upstream.Enqueue(new FakeFault { Status = 500, Body = """{"error":{"message":"The server had an error","type":"server_error"}}""" });

        var (status, _, _, context) = await PostChatAsync(Body("""  "model":"both","provider":{"order":["openai"],"allow_fallbacks":false}  """).Replace("\"model\":\"solo\",", ""), Key);

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal(["openai/gpt-4o-mini"], context.Attempts.Select(a => a.Deployment));
    }

    [Fact]
    public async Task SortingByPriceTriesTheCheapestDeploymentFirst()
    {
        var (status, _, _, context) = await PostChatAsync(Body("""  "model":"both","provider":{"sort":"price"}  """).Replace("\"model\":\"solo\",", ""), Key);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("openai/gpt-4o-mini", context.Attempts.Single().Deployment);
    }

    [Fact]
    public async Task AKeyMayNotReachAFallbackModelItMayNotUse()
    {
        using var response = await PostRawAsync(Body("""  "models":["both"]  """), NarrowKey);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("model_not_allowed", error.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("models", error.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Empty(Upstream.Calls);
    }

    [Theory]
    [InlineData("""  "models":["acme/unknown-model"]  """, HttpStatusCode.NotFound, "model")]
    [InlineData("""  "models":"gpt"  """, HttpStatusCode.BadRequest, "models")]
    [InlineData("""  "provider":{"sort":"cheapest"}  """, HttpStatusCode.BadRequest, "provider.sort")]
    [InlineData("""  "provider":["openai"]  """, HttpStatusCode.BadRequest, "provider")]
    public async Task RoutingFieldsTheGatewayCannotHonourAreRefusedInTheCallersProtocol(string routing, HttpStatusCode expected, string param)
    {
        using var response = await PostRawAsync(Body(routing), Key);

        Assert.Equal(expected, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(param, error.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Empty(Upstream.Calls);
    }

    private async Task<HttpResponseMessage> PostRawAsync(string body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Gateway.BaseUrl + "/v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", key);
        return await Http.SendAsync(request);
    }
}

/// <summary>With per-request routing switched off, the fields are the provider's: passed on as sent, never acted on.</summary>
public sealed class PerRequestRoutingOffTests : GroupGatewayTestBase
{
    protected override Dictionary<string, string?> Settings => new()
    {
        ["LlmGateway:PerRequestRouting"] = "false",
        ["LlmGateway:Groups:solo:Deployments:0:Provider"] = "openai",
        ["LlmGateway:Groups:solo:Deployments:0:Model"] = "gpt-4o-mini",
        ["LlmGateway:Groups:solo:MaxRetries"] = "0",
    };

    [Fact]
    public async Task TheFieldsReachTheProviderAsSentAndNoFallbackIsTaken()
    {
        var (status, _, _, context) = await PostChatAsync("""{"model":"solo","messages":[{"role":"user","content":"hi"}],"models":["gemini/gemini-2.5-flash"]}""");

        // OpenAI refuses what it does not know, as the real API does: the gateway did not consume the field.
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(["openai/gpt-4o-mini"], context.Attempts.Select(a => a.Deployment));
        Assert.NotNull(Upstream.LastCall("openai").Body["models"]);
    }
}

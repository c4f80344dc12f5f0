using System.Net;
using System.Text;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;
using LlmMiddleware.Tokenizers;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Anthropic's <c>count_tokens</c> through the gateway, with the official Anthropic SDK: Anthropic counts its
/// own models, the gateway counts OpenAI's exactly and estimates the rest, and says which; keys apply as for calls.</summary>
public sealed class CountTokensTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private const string Text = "How many tokens is this sentence, exactly?";

    private AnthropicClient Client(GatewayHost gateway, string key = "caller-key") => new() { ApiKey = key, BaseUrl = gateway.BaseUrl, MaxRetries = 0 };

    private static MessageCountTokensParams Count(string model) => new() { Model = model, System = "Be brief.", Messages = [new UserMessageParam(Text)] };

    /// <summary>The gateway's count of the request above: reply priming, the system and the user message (3 each), the texts.</summary>
    private static long Counted => 3 + 3 + TiktokenEncoding.O200kBase.CountTokens("Be brief.") + 3 + TiktokenEncoding.O200kBase.CountTokens(Text);

    [Fact]
    public async Task AnthropicCountsItsOwnModelsForTheUpstreamModelName()
    {
        var counted = await Client(fixture.Gateway).Messages.CountTokens(Count("claude"));

        var asked = fixture.Upstream.Calls.Last(c => c.Path == "/anthropic/v1/messages/count_tokens");
        Assert.Equal("claude-sonnet-4-5", asked.Body["model"]!.GetValue<string>());
        Assert.Equal(asked.Body["messages"]!.ToJsonString().Length / 4, counted.InputTokens); // the fake's answer, relayed
        Assert.NotEqual("caller-key", asked.Headers["x-api-key"].ToString()); // the gateway's provider key, never the caller's
    }

    [Theory]
    [InlineData("gpt", "exact")]
    [InlineData("gem", "estimate")]
    [InlineData("mistral/mistral-small-latest", "estimate")]
    public async Task OtherModelsAreCountedHereAndTheAnswerSaysHow(string model, string source)
    {
        var calls = fixture.Upstream.Calls.Count;
        var counted = await Client(fixture.Gateway).Messages.CountTokens(Count(model));
        using var raw = await PostAsync(fixture.Gateway, "caller-key", $$"""{"model":"{{model}}","system":"Be brief.","messages":[{"role":"user","content":"{{Text}}"}]}""");

        Assert.Equal(Counted, counted.InputTokens);
        Assert.Equal(source, raw.Headers.GetValues("x-llm-token-count").Single());
        Assert.Equal("tiktoken:o200k_base", raw.Headers.GetValues("x-llm-tokenizer").Single());
        Assert.Equal(calls, fixture.Upstream.Calls.Count); // no provider was asked
    }

    [Fact]
    public async Task BadRequestsAreAnsweredInAnthropicsShape()
    {
        using var unknown = await PostAsync(fixture.Gateway, "k", """{"model":"no-such-model","messages":[{"role":"user","content":"x"}]}""");
        using var unreadable = await PostAsync(fixture.Gateway, "k", """{"model":"gpt","messages":"x"}""");
        using var noModel = await PostAsync(fixture.Gateway, "k", """{"messages":[{"role":"user","content":"x"}]}""");

        foreach (var (response, status, type) in new[] { (unknown, HttpStatusCode.NotFound, "not_found_error"), (unreadable, HttpStatusCode.BadRequest, "invalid_request_error"), (noModel, HttpStatusCode.BadRequest, "invalid_request_error") })
        {
            Assert.Equal(status, response.StatusCode); // as a call to /v1/messages would be answered
            using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
            Assert.Equal(type, error.RootElement.GetProperty("error").GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task WithVirtualKeysACallerNeedsAKeyThatMayUseTheModel()
    {
        await using var gateway = await GatewayHost.StartAsync(fixture.Upstream, b => b.Services.AddLlmGateway().AddVirtualKeys(), settings: new Dictionary<string, string?>
        {
            ["LlmGateway:VirtualKeys:Keys:narrow:Secret"] = "sk-llm-narrow-0123456789abcdef",
            ["LlmGateway:VirtualKeys:Keys:narrow:Models:0"] = "gpt",
        });

        var allowed = await Client(gateway, "sk-llm-narrow-0123456789abcdef").Messages.CountTokens(Count("gpt"));
        await Assert.ThrowsAsync<Anthropic.Exceptions.AnthropicUnauthorizedException>(() => Client(gateway, "sk-llm-guessed").Messages.CountTokens(Count("gpt")));
        using var forbidden = await PostAsync(gateway, "sk-llm-narrow-0123456789abcdef", """{"model":"claude","messages":[{"role":"user","content":"x"}]}""");

        Assert.Equal(Counted, allowed.InputTokens);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Contains("permission_error", await forbidden.Content.ReadAsStringAsync());
    }

    private static async Task<HttpResponseMessage> PostAsync(GatewayHost gateway, string key, string body)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.BaseUrl + "/v1/messages/count_tokens") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("x-api-key", key);
        request.Headers.Add("anthropic-version", "2023-06-01");
        return await http.SendAsync(request);
    }
}

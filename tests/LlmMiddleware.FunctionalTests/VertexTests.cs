using System.Net;
using Anthropic;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// Vertex AI through the official SDKs: Gemini (vertex) and Claude (vertex-anthropic) reached with an OAuth token the
/// gateway obtained from a service account key — the fake token endpoint checks the signed assertion, the fake Vertex
/// API the token and its wire format (Claude's model in the URL, its version in the body).
/// </summary>
public sealed class VertexTests : IAsyncLifetime
{
    private FakeUpstream _upstream = null!;
    private GatewayHost _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        var vertexBase = _upstream.BaseUrl + "/vertex/v1/projects/fake-project/locations/us-east5";
        _gateway = await GatewayHost.StartAsync(_upstream, b => b.Services.AddLlmGateway().AddVertex(), settings: new Dictionary<string, string?>
        {
            ["LlmGateway:Vertex:CredentialsJson"] = _upstream.ServiceAccountJson,
            ["LlmGateway:Providers:vertex:BaseUrl"] = vertexBase,
            ["LlmGateway:Providers:vertex-anthropic:BaseUrl"] = vertexBase,
            ["LlmGateway:Models:vgem:Provider"] = "vertex",
            ["LlmGateway:Models:vgem:Model"] = "gemini-2.5-flash",
            ["LlmGateway:Models:vclaude:Provider"] = "vertex-anthropic",
            ["LlmGateway:Models:vclaude:Model"] = "claude-sonnet-4-5",
        });
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private AnthropicClient Anthropic() => new() { ApiKey = "k", BaseUrl = _gateway.BaseUrl, MaxRetries = 0 };

    [Fact]
    public async Task GeminiOnVertexAnswersTheOpenAISdkStreamedOrNot()
    {
        ChatCompletion complete = await Sdks.OpenAI(_gateway, "k", "vgem").CompleteChatAsync([new UserChatMessage("Hi Vertex")]);
        var streamed = "";
        await foreach (var update in Sdks.OpenAI(_gateway, "k", "vgem").CompleteChatStreamingAsync([new UserChatMessage("Hi Vertex")]))
        {
            streamed += string.Concat(update.ContentUpdate.Select(p => p.Text));
        }

        Assert.Equal("Hello from gemini: Hi Vertex", complete.Content[0].Text);
        Assert.Equal(complete.Content[0].Text, streamed);
        var call = _upstream.LastCall("vertex");
        Assert.EndsWith("/publishers/google/models/gemini-2.5-flash:streamGenerateContent", call.Path);
        Assert.Equal(1, _upstream.GoogleTokenExchanges); // the token is kept and reused
    }

    [Fact]
    public async Task ClaudeOnVertexAnswersTheAnthropicSdkIncludingAToolLoop()
    {
        var client = Anthropic();
        var tool = new Tool { Name = "get_weather", InputSchema = new InputSchema { Properties = new Dictionary<string, System.Text.Json.JsonElement> { ["city"] = System.Text.Json.JsonSerializer.SerializeToElement(new { type = "string" }) } } };
        List<MessageParam> messages = [new UserMessageParam("Weather in Paris?")];
        var first = await client.Messages.Create(new MessageCreateParams { Model = "vclaude", MaxTokens = 256, Messages = messages, Tools = [tool] });
        var use = first.Content.Select(c => c.TryPickToolUse(out var u) ? u : null).OfType<ToolUseBlock>().Single();
        messages.Add(new AssistantMessageParam(new List<ContentBlockParam> { new ToolUseBlockParam { ID = use.ID, Name = use.Name, Input = use.Input } }));
        messages.Add(new UserMessageParam(new List<ContentBlockParam> { new ToolResultBlockParam(use.ID) { Content = "sunny" } }));

        var text = "";
        await foreach (var e in client.Messages.CreateStreaming(new MessageCreateParams { Model = "vclaude", MaxTokens = 256, Messages = messages, Tools = [tool] }))
        {
            if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var t))
            {
                text += t.Text;
            }
        }

        Assert.Equal("Results: sunny", text);
        var call = _upstream.LastCall("vertex-anthropic");
        Assert.EndsWith("/publishers/anthropic/models/claude-sonnet-4-5:streamRawPredict", call.Path);
        Assert.False(call.Headers.ContainsKey("x-api-key"));
    }

    [Fact]
    public async Task CredentialsGoogleRefusesAreA502ForTheCallerNotAGatewayFault()
    {
        using var otherKey = System.Security.Cryptography.RSA.Create(2048);
        var forged = System.Text.Json.Nodes.JsonNode.Parse(_upstream.ServiceAccountJson)!;
        forged["private_key"] = otherKey.ExportPkcs8PrivateKeyPem();
        await using var gateway = await GatewayHost.StartAsync(_upstream, b => b.Services.AddLlmGateway().AddVertex(o => o.CredentialsJson = forged.ToJsonString()), settings: new Dictionary<string, string?>
        {
            ["LlmGateway:Providers:vertex:BaseUrl"] = _upstream.BaseUrl + "/vertex/v1/projects/p/locations/l",
        });

        var refused = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => Sdks.OpenAI(gateway, "k", "vertex/gemini-2.5-flash").CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal((int)HttpStatusCode.BadGateway, refused.Status);
        Assert.Contains("could not obtain credentials", refused.Message);
        Assert.DoesNotContain(_upstream.Calls, c => c.Provider == "vertex");
    }

    [Fact]
    public async Task WithoutTheVertexPackageACallIsRefusedWithWhatToDo()
    {
        await using var gateway = await GatewayHost.StartAsync(_upstream, settings: new Dictionary<string, string?>
        {
            ["LlmGateway:Providers:vertex:BaseUrl"] = _upstream.BaseUrl + "/vertex/v1/projects/p/locations/l",
        });

        var refused = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => Sdks.OpenAI(gateway, "k", "vertex/gemini-2.5-flash").CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal((int)HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("AddVertex()", refused.Message);
    }
}

using System.Net;
using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// Amazon Bedrock through the official SDKs: the Converse API (bedrock) and Claude through InvokeModel
/// (bedrock-anthropic), streamed in AWS's event-stream framing or not, each request SigV4-signed by AWSSDK.Core and
/// checked by the fake against its own reading of the specification.
/// </summary>
public sealed class BedrockTests : IAsyncLifetime
{
    private const string Claude = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    private FakeUpstream _upstream = null!;
    private GatewayHost _gateway = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        _gateway = await StartAsync(FakeUpstream.AwsSecretAccessKey);
    }

    public async Task DisposeAsync()
    {
        await _gateway.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    private Task<GatewayHost> StartAsync(string secret) => GatewayHost.StartAsync(_upstream, b => b.Services.AddLlmGateway().AddBedrock(), settings: new Dictionary<string, string?>
    {
        ["LlmGateway:Bedrock:Region"] = FakeUpstream.AwsRegion,
        ["LlmGateway:Bedrock:AccessKeyId"] = FakeUpstream.AwsAccessKeyId,
        ["LlmGateway:Bedrock:SecretAccessKey"] = secret,
        ["LlmGateway:Providers:bedrock:BaseUrl"] = _upstream.BaseUrl + "/bedrock",
        ["LlmGateway:Providers:bedrock-anthropic:BaseUrl"] = _upstream.BaseUrl + "/bedrock",
    });

    private static ChatTool Weather => ChatTool.CreateFunctionTool("get_weather", "Current weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));

    [Fact]
    public async Task TheConverseApiAnswersTheOpenAISdkStreamedOrNotWithToolsRoundTrip()
    {
        var client = Sdks.OpenAI(_gateway, "k", "bedrock/" + Claude);
        ChatCompletion text = await client.CompleteChatAsync([new UserChatMessage("Hi Bedrock")]);
        var streamed = "";
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("Hi Bedrock")]))
        {
            streamed += string.Concat(update.ContentUpdate.Select(p => p.Text));
        }

        List<ChatMessage> messages = [new UserChatMessage("Weather in Paris?")];
        var options = new ChatCompletionOptions { Tools = { Weather } };
        ChatCompletion call = await client.CompleteChatAsync(messages, options);
        messages.Add(new AssistantChatMessage(call));
        messages.Add(new ToolChatMessage(call.ToolCalls[0].Id, "sunny"));
        var final = "";
        await foreach (var update in client.CompleteChatStreamingAsync(messages, options))
        {
            final += string.Concat(update.ContentUpdate.Select(p => p.Text));
        }

        Assert.Equal("Hello from bedrock: Hi Bedrock", text.Content[0].Text);
        Assert.Equal(22, text.Usage.TotalTokenCount);
        Assert.Equal(text.Content[0].Text, streamed);
        Assert.Equal("Paris", JsonDocument.Parse(call.ToolCalls[0].FunctionArguments).RootElement.GetProperty("city").GetString());
        Assert.Equal("Results: sunny", final);
        var last = _upstream.LastCall("bedrock");
        Assert.EndsWith("/model/" + Claude + "/converse-stream", Uri.UnescapeDataString(last.Path));
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=" + FakeUpstream.AwsAccessKeyId, last.Headers.Authorization.ToString());
    }

    [Fact]
    public async Task ClaudeThroughInvokeModelAnswersTheAnthropicSdkStreamedOrNot()
    {
        var client = new AnthropicClient { ApiKey = "k", BaseUrl = _gateway.BaseUrl, MaxRetries = 0 };
        var message = await client.Messages.Create(new MessageCreateParams { Model = "bedrock-anthropic/" + Claude, MaxTokens = 100, Messages = [new UserMessageParam("Hi Claude")] });
        var text = "";
        await foreach (var e in client.Messages.CreateStreaming(new MessageCreateParams { Model = "bedrock-anthropic/" + Claude, MaxTokens = 100, Messages = [new UserMessageParam("Hi Claude")] }))
        {
            if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var t))
            {
                text += t.Text;
            }
        }

        Assert.True(message.Content[0].TryPickText(out var complete));
        Assert.Equal("Hello from anthropic: Hi Claude", complete.Text);
        Assert.Equal(complete.Text, text);
        Assert.EndsWith("/invoke-with-response-stream", _upstream.LastCall("bedrock-anthropic").Path);
    }

    [Fact]
    public async Task ASignatureBedrockRefusesIsA502ForTheCaller()
    {
        await using var forged = await StartAsync("not-the-secret-0000000000000000000000000");

        var refused = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => Sdks.OpenAI(forged, "k", "bedrock/" + Claude).CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal((int)HttpStatusCode.BadGateway, refused.Status);
        Assert.Contains("refused the gateway's credentials", refused.Message);
    }
}

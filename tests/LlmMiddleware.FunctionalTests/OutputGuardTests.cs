#pragma warning disable OPENAI001 // the SDK's Responses client is marked for evaluation
using System.ClientModel;
using Anthropic;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;
using OpenAI.Responses;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// Output guards through the official SDKs: the built-in PII redaction rewrites answers (streams included, and still
/// well-formed for each SDK), and a guard that stops an answer reaches the caller as an error in its own protocol.
/// </summary>
public sealed class OutputGuardTests : GroupGatewayTestBase
{
    // The fake answers "Hello from {provider}: {prompt}", streamed in two halves.
    private const string Prompt = "jane.doe@example.com is my mail";

    protected override Dictionary<string, string?> Settings => [];

    protected override void ConfigureServices(WebApplicationBuilder builder) =>
        builder.Services.AddLlmGateway().AddPiiRedaction().AddOutputGuard(new StopAt("forbidden"));

    private ChatClient OpenAI(string model) => Sdks.OpenAI(Gateway, "k", model);

    private AnthropicClient Anthropic() => new() { ApiKey = "k", BaseUrl = Gateway.BaseUrl, MaxRetries = 0 };

    [Theory]
    [InlineData("gpt", "openai")]
    [InlineData("claude", "anthropic")]
    [InlineData("gem", "gemini")]
    public async Task AnswersAreRedactedStreamedOrNot(string model, string provider)
    {
        ChatCompletion complete = await OpenAI(model).CompleteChatAsync([new UserChatMessage(Prompt)]);
        var streamed = "";
        await foreach (var update in OpenAI(model).CompleteChatStreamingAsync([new UserChatMessage(Prompt)]))
        {
            streamed += string.Concat(update.ContentUpdate.Select(p => p.Text));
        }

        Assert.Equal($"Hello from {provider}: [REDACTED:email] is my mail", complete.Content[0].Text);
        Assert.Equal(complete.Content[0].Text, streamed);
    }

    [Fact]
    public async Task AnAnthropicStreamRewrittenMidWayStaysWellFormedForItsSdk()
    {
        var text = "";
        await foreach (var e in Anthropic().Messages.CreateStreaming(new MessageCreateParams { Model = "gpt", MaxTokens = 100, Messages = [new UserMessageParam(Prompt)] }))
        {
            if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var t))
            {
                text += t.Text;
            }
        }

        Assert.Equal("Hello from openai: [REDACTED:email] is my mail", text);
    }

    [Fact]
    public async Task AResponsesStreamRewrittenMidWayStaysWellFormedForItsSdk()
    {
        var client = new ResponsesClient(new ApiKeyCredential("k"), new ResponsesClientOptions { Endpoint = new Uri(Gateway.BaseUrl + "/v1") });
        ResponseResult? completed = null;
        await foreach (var update in await client.CreateResponseStreamingAsync(new CreateResponseOptions("claude", [ResponseItem.CreateUserMessageItem(Prompt)]) { StreamingEnabled = true }))
        {
            completed = (update as StreamingResponseCompletedUpdate)?.Response ?? completed;
        }

        Assert.Equal("Hello from anthropic: [REDACTED:email] is my mail", completed!.GetOutputText());
    }

    [Fact]
    public async Task AStoppedAnswerIsAnErrorInTheCallersProtocol()
    {
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => OpenAI("claude").CompleteChatAsync([new UserChatMessage("say forbidden things")]));
        Assert.Equal(400, refused.Status);
        Assert.Contains("Blocked by policy", refused.Message);

        // Streamed, the OpenAI SDK sees the stream fail rather than end as if complete.
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in OpenAI("gem").CompleteChatStreamingAsync([new UserChatMessage("say forbidden things")]))
            {
            }
        });

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in Anthropic().Messages.CreateStreaming(new MessageCreateParams { Model = "gpt", MaxTokens = 100, Messages = [new UserMessageParam("say forbidden things")] }))
            {
            }
        });
    }

    private sealed class StopAt(string word) : LlmOutputGuard
    {
        public override ValueTask OnResponseAsync(LlmRequestContext context, LlmResponse response, CancellationToken cancellationToken) =>
            response.Content.OfType<LlmTextPart>().Any(p => p.Text.Contains(word, StringComparison.Ordinal)) ? throw Blocked() : ValueTask.CompletedTask;

        public override LlmStreamGuard OnStream(LlmRequestContext context) => new Words(word);

        private static LlmGatewayException Blocked() => new(new LlmError(LlmErrorKind.InvalidRequest, "Blocked by policy.") { Code = "output_blocked" });

        private sealed class Words(string word) : LlmStreamGuard
        {
            public override string OnText(string text) => text.Contains(word, StringComparison.Ordinal) ? throw Blocked() : text;
        }
    }
}

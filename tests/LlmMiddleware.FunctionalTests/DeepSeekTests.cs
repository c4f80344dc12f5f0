using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;

namespace LlmMiddleware.FunctionalTests;

/// <summary>The DeepSeek preset, with the official Anthropic SDK on the caller's side: DeepSeek's
/// <c>reasoning_content</c> reaches the caller as thinking, streamed or not, and a tool loop that passes the thinking
/// back reaches DeepSeek with it, as its thinking mode requires (the fake refuses a tool-calling turn without it).</summary>
public sealed class DeepSeekTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private const string Model = "deepseek/deepseek-reasoner";

    private AnthropicClient Client() => new() { ApiKey = "caller-key", BaseUrl = fixture.Gateway.BaseUrl, MaxRetries = 0 };

    private static ToolUnion Weather => new Tool
    {
        Name = "get_weather",
        Description = "Looks up the weather in a city",
        InputSchema = new InputSchema { Properties = new Dictionary<string, JsonElement> { ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }) }, Required = ["city"] },
    };

    [Fact]
    public async Task ItsReasoningReachesAnAnthropicCallerAsThinking()
    {
        var message = await Client().Messages.Create(new MessageCreateParams { Model = Model, MaxTokens = 256, Messages = [new UserMessageParam("Hi there")] });

        Assert.True(message.Content[0].TryPickThinking(out var thinking));
        Assert.Equal(FakeUpstream.DeepSeekThought, thinking.Thinking);
        Assert.True(message.Content[1].TryPickText(out var text));
        Assert.Equal("Hello from deepseek: Hi there", text.Text);
        Assert.Equal("Bearer " + FakeUpstream.DeepSeekKey, fixture.Upstream.LastCall("deepseek").Headers.Authorization.ToString());
    }

    [Fact]
    public async Task ItsStreamedReasoningReachesAnAnthropicCallerAsThinkingDeltas()
    {
        var (thought, text) = ("", "");
        await foreach (var e in Client().Messages.CreateStreaming(new MessageCreateParams { Model = Model, MaxTokens = 256, Messages = [new UserMessageParam("Stream please")] }))
        {
            if (e.TryPickContentBlockDelta(out var delta))
            {
                thought += delta.Delta.TryPickThinking(out var thinking) ? thinking.Thinking : "";
                text += delta.Delta.TryPickText(out var part) ? part.Text : "";
            }
        }

        Assert.Equal(FakeUpstream.DeepSeekThought, thought);
        Assert.Equal("Hello from deepseek: Stream please", text);
    }

    [Fact]
    public async Task AToolLoopPassesTheThinkingBackToDeepSeek()
    {
        var client = Client();
        List<MessageParam> messages = [new UserMessageParam("Weather?")];
        var first = await client.Messages.Create(new MessageCreateParams { Model = Model, MaxTokens = 256, Messages = messages, Tools = [Weather] });
        Assert.Equal(StopReason.ToolUse, first.StopReason!.Value());

        // As an Anthropic client replays a thinking turn: the thinking and the tool call, as they came.
        messages.Add(new AssistantMessageParam(first.Content.Select(block => block.TryPickThinking(out var thinking)
            ? (ContentBlockParam)new ThinkingBlockParam { Thinking = thinking.Thinking, Signature = thinking.Signature }
            : block.TryPickToolUse(out var use) ? new ToolUseBlockParam { ID = use.ID, Name = use.Name, Input = use.Input } : throw new InvalidOperationException("Unexpected block")).ToList()));
        var call = first.Content.Select(b => b.TryPickToolUse(out var use) ? use : null).OfType<ToolUseBlock>().Single();
        messages.Add(new UserMessageParam(new List<ContentBlockParam> { new ToolResultBlockParam(call.ID) { Content = "18C" } }));
        var second = await client.Messages.Create(new MessageCreateParams { Model = Model, MaxTokens = 256, Messages = messages, Tools = [Weather] });

        Assert.Equal(StopReason.EndTurn, second.StopReason!.Value());
        var replayed = fixture.Upstream.LastCall("deepseek").Body["messages"]!.AsArray().Single(m => m!["role"]!.GetValue<string>() == "assistant")!;
        Assert.Equal(FakeUpstream.DeepSeekThought, replayed["reasoning_content"]!.GetValue<string>());
    }
}

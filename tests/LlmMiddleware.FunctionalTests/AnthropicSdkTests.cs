using System.Text.Json;
using Anthropic;
using Anthropic.Models.Messages;
using LlmMiddleware.FunctionalTests.Infrastructure;

namespace LlmMiddleware.FunctionalTests;

/// <summary>The official Anthropic .NET SDK against the gateway, reaching every provider kind.</summary>
public sealed class AnthropicSdkTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    public static TheoryData<string, string> Models => new()
    {
        { "claude", "anthropic" },
        { "gpt", "openai" },
        { "gem", "gemini" },
        { "azure-gpt", "azure" },
        { "mistral/mistral-small-latest", "mistral" },
    };

    private AnthropicClient Client() => new() { ApiKey = "caller-key-must-not-leak", BaseUrl = fixture.Gateway.BaseUrl, MaxRetries = 0 };

    private static ToolUnion Tool(string name) => new Tool
    {
        Name = name,
        Description = "Looks something up for a city",
        InputSchema = new InputSchema
        {
            Properties = new Dictionary<string, JsonElement> { ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }) },
            Required = ["city"],
        },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Text(string model, string provider)
    {
        var message = await Client().Messages.Create(new MessageCreateParams
        {
            Model = model,
            MaxTokens = 256,
            System = "Be brief.",
            Messages = [new UserMessageParam("Hi there")],
        });

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal($"Hello from {provider}: Hi there", text.Text);
        Assert.Equal(StopReason.EndTurn, message.StopReason!.Value());
        Assert.True(message.Usage.InputTokens >= 0);
        Assert.True(message.Usage.OutputTokens > 0);
        Assert.StartsWith("msg_", message.ID);
        Assert.DoesNotContain("caller-key-must-not-leak", fixture.Upstream.LastCall(provider).Headers.ToString());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Streamed(string model, string provider)
    {
        var text = "";
        var events = new List<string>();
        long? outputTokens = null;
        await foreach (var e in Client().Messages.CreateStreaming(new MessageCreateParams
        {
            Model = model,
            MaxTokens = 256,
            Messages = [new UserMessageParam("Stream please")],
        }))
        {
            events.Add(e.Json.GetProperty("type").GetString()!);
            if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var textDelta))
            {
                text += textDelta.Text;
            }

            if (e.TryPickDelta(out var messageDelta))
            {
                outputTokens = messageDelta.Usage.OutputTokens;
            }
        }

        Assert.Equal($"Hello from {provider}: Stream please", text);
        Assert.Equal("message_start", events[0]);
        Assert.Equal("message_stop", events[^1]);
        Assert.Equal("message_delta", events[^2]);
        Assert.True(outputTokens > 0);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task ToolCallRoundTrip(string model, string provider)
    {
        var client = Client();
        List<MessageParam> messages = [new UserMessageParam("Weather and time?")];
        var first = await client.Messages.Create(new MessageCreateParams { Model = model, MaxTokens = 256, Messages = messages, Tools = [Tool("get_weather"), Tool("get_time")] });

        Assert.Equal(StopReason.ToolUse, first.StopReason!.Value());
        var uses = first.Content.Select(c => c.TryPickToolUse(out var use) ? use : null).OfType<ToolUseBlock>().ToList();
        Assert.Equal(["get_weather", "get_time"], uses.Select(u => u.Name));
        Assert.Equal("Paris", uses[0].Input["city"].GetString());
        Assert.Equal("Berlin", uses[1].Input["city"].GetString());

        messages.Add(new AssistantMessageParam(uses.Select(u => (ContentBlockParam)new ToolUseBlockParam { ID = u.ID, Name = u.Name, Input = u.Input }).ToList()));
        messages.Add(new UserMessageParam(new List<ContentBlockParam>
        {
            new ToolResultBlockParam(uses[0].ID) { Content = "18C" },
            new ToolResultBlockParam(uses[1].ID) { Content = "14:00" },
        }));
        var second = await client.Messages.Create(new MessageCreateParams { Model = model, MaxTokens = 256, Messages = messages, Tools = [Tool("get_weather"), Tool("get_time")] });

        Assert.Equal(StopReason.EndTurn, second.StopReason!.Value());
        Assert.True(second.Content[0].TryPickText(out var text));
        Assert.Equal("Results: 18C, 14:00", text.Text);
        Assert.Contains("14:00", fixture.Upstream.LastCall(provider).Body.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task StreamedParallelToolCallRoundTrip(string model, string provider)
    {
        var client = Client();
        List<MessageParam> messages = [new UserMessageParam("Weather and time?")];
        var blocks = new SortedDictionary<long, (string Id, string Name, string Json)>();
        string? stopReason = null;
        await foreach (var e in client.Messages.CreateStreaming(new MessageCreateParams { Model = model, MaxTokens = 256, Messages = messages, Tools = [Tool("get_weather"), Tool("get_time")] }))
        {
            if (e.TryPickContentBlockStart(out var start) && start.ContentBlock.TryPickToolUse(out var use))
            {
                blocks[start.Index] = (use.ID, use.Name, "");
            }
            else if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickInputJson(out var json))
            {
                var block = blocks[delta.Index];
                blocks[delta.Index] = block with { Json = block.Json + json.PartialJson };
            }
            else if (e.TryPickDelta(out var messageDelta))
            {
                stopReason = e.Json.GetProperty("delta").GetProperty("stop_reason").GetString();
            }
        }

        Assert.Equal("tool_use", stopReason);
        var calls = blocks.Values.ToList();
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.Name));
        Assert.Equal("Paris", JsonDocument.Parse(calls[0].Json).RootElement.GetProperty("city").GetString());
        Assert.Equal("Berlin", JsonDocument.Parse(calls[1].Json).RootElement.GetProperty("city").GetString());

        messages.Add(new AssistantMessageParam(calls.Select(c => (ContentBlockParam)new ToolUseBlockParam
        {
            ID = c.Id,
            Name = c.Name,
            Input = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(c.Json)!,
        }).ToList()));
        messages.Add(new UserMessageParam(new List<ContentBlockParam>
        {
            new ToolResultBlockParam(calls[0].Id) { Content = "sunny" },
            new ToolResultBlockParam(calls[1].Id) { Content = "noon" },
            new TextBlockParam("Thanks!"),
        }));
        var text = "";
        await foreach (var e in client.Messages.CreateStreaming(new MessageCreateParams { Model = model, MaxTokens = 256, Messages = messages, Tools = [Tool("get_weather"), Tool("get_time")] }))
        {
            if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.TryPickText(out var textDelta))
            {
                text += textDelta.Text;
            }
        }

        Assert.Equal("Results: sunny, noon", text);
        Assert.Contains("noon", fixture.Upstream.LastCall(provider).Body.ToJsonString());
    }

    /// <summary>Claude Code's newer fields: <c>context_management</c> reaches Anthropic as sent and is left out for
    /// other providers (which would refuse it), and adaptive thinking with an effort becomes their reasoning effort.</summary>
    [Theory]
    [InlineData("claude", "anthropic")]
    [InlineData("gpt", "openai")]
    [InlineData("gem", "gemini")]
    public async Task ContextManagementAndAdaptiveThinkingReachEachProviderInItsOwnTerms(string model, string provider)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, fixture.Gateway.BaseUrl + "/v1/messages")
        {
            Content = new StringContent($$"""
                {"model":"{{model}}","max_tokens":2048,"thinking":{"type":"adaptive"},"output_config":{"effort":"high"},
                 "context_management":{"edits":[{"type":"clear_tool_uses_20250919"}]},"messages":[{"role":"user","content":"Hi there"}]}
                """, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("x-api-key", "caller-key");
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await fixture.Http.SendAsync(request);

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var sent = fixture.Upstream.LastCall(provider).Body;
        Assert.Equal(provider == "anthropic", sent["context_management"] is not null);
        switch (provider)
        {
            case "anthropic":
                Assert.Equal("adaptive", sent["thinking"]!["type"]!.GetValue<string>());
                break;
            case "openai":
                Assert.Equal("high", sent["reasoning_effort"]!.GetValue<string>());
                break;
            default:
                Assert.Equal(24576, sent["generationConfig"]!["thinkingConfig"]!["thinkingBudget"]!.GetValue<int>());
                break;
        }
    }
}

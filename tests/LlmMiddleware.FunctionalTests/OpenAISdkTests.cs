using System.ClientModel;
using System.Text.Json;
using LlmMiddleware.FunctionalTests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace LlmMiddleware.FunctionalTests;

/// <summary>The official OpenAI .NET SDK against the gateway, reaching every provider kind.</summary>
public sealed class OpenAISdkTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    public static TheoryData<string, string> Models => new()
    {
        { "gpt", "openai" },
        { "claude", "anthropic" },
        { "gem", "gemini" },
        { "azure-gpt", "azure" },
        { "mistral/mistral-small-latest", "mistral" },
    };

    private ChatClient Client(string model) =>
        new OpenAIClient(new ApiKeyCredential("caller-key-must-not-leak"), new OpenAIClientOptions { Endpoint = new Uri(fixture.Gateway.BaseUrl + "/v1") }).GetChatClient(model);

    private static ChatTool WeatherTool => ChatTool.CreateFunctionTool(
        "get_weather", "Current weather in a city", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}"""));

    private static ChatTool TimeTool => ChatTool.CreateFunctionTool(
        "get_time", "Local time in a city", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Text(string model, string provider)
    {
        ChatCompletion completion = await Client(model).CompleteChatAsync([new SystemChatMessage("Be brief."), new UserChatMessage("Hi there")]);

        Assert.Equal($"Hello from {provider}: Hi there", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.True(completion.Usage.OutputTokenCount > 0);
        var call = fixture.Upstream.LastCall(provider);
        Assert.DoesNotContain("caller-key-must-not-leak", call.Headers.ToString());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Streamed(string model, string provider)
    {
        var text = "";
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var updates = 0;
        await foreach (var update in Client(model).CompleteChatStreamingAsync([new UserChatMessage("Stream please")]))
        {
            updates++;
            text += string.Concat(update.ContentUpdate.Select(p => p.Text));
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal($"Hello from {provider}: Stream please", text);
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.True(usage.InputTokenCount > 0);
        Assert.True(updates >= 3);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task ToolCallRoundTrip(string model, string provider)
    {
        var client = Client(model);
        var options = new ChatCompletionOptions { Tools = { WeatherTool, TimeTool } };
        List<ChatMessage> messages = [new UserChatMessage("Weather and time in Paris and Berlin?")];
        ChatCompletion first = await client.CompleteChatAsync(messages, options);

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        Assert.Equal(2, first.ToolCalls.Count);
        Assert.Equal(["get_weather", "get_time"], first.ToolCalls.Select(c => c.FunctionName));
        Assert.Equal("Paris", JsonDocument.Parse(first.ToolCalls[0].FunctionArguments).RootElement.GetProperty("city").GetString());
        Assert.Equal("Berlin", JsonDocument.Parse(first.ToolCalls[1].FunctionArguments).RootElement.GetProperty("city").GetString());

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(first.ToolCalls[0].Id, "18C"));
        messages.Add(new ToolChatMessage(first.ToolCalls[1].Id, "14:00"));
        ChatCompletion second = await client.CompleteChatAsync(messages, options);

        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        Assert.Equal("Results: 18C, 14:00", second.Content[0].Text);
        Assert.Contains("14:00", fixture.Upstream.LastCall(provider).Body.ToJsonString());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task StreamedParallelToolCallRoundTrip(string model, string provider)
    {
        var client = Client(model);
        var options = new ChatCompletionOptions { Tools = { WeatherTool, TimeTool } };
        List<ChatMessage> messages = [new UserChatMessage("Weather and time?")];
        var builders = new SortedDictionary<int, (string Id, string Name, string Args)>();
        ChatFinishReason? finish = null;
        await foreach (var update in client.CompleteChatStreamingAsync(messages, options))
        {
            foreach (var call in update.ToolCallUpdates)
            {
                var current = builders.TryGetValue(call.Index, out var existing) ? existing : ("", "", "");
                builders[call.Index] = (
                    current.Item1 + (call.ToolCallId ?? ""),
                    current.Item2 + (call.FunctionName ?? ""),
                    current.Item3 + (call.FunctionArgumentsUpdate?.ToString() ?? ""));
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal(2, builders.Count);
        Assert.Equal("""{"city":"Paris"}""", builders[0].Args);
        Assert.Equal("""{"city":"Berlin"}""", builders[1].Args);
        Assert.Equal("get_weather", builders[0].Name);
        Assert.Equal("get_time", builders[1].Name);

        messages.Add(new AssistantChatMessage(builders.Values.Select(b => ChatToolCall.CreateFunctionToolCall(b.Id, b.Name, BinaryData.FromString(b.Args))).ToList()));
        messages.Add(new ToolChatMessage(builders[0].Id, "sunny"));
        messages.Add(new ToolChatMessage(builders[1].Id, "noon"));
        var text = "";
        await foreach (var update in client.CompleteChatStreamingAsync(messages, options))
        {
            text += string.Concat(update.ContentUpdate.Select(p => p.Text));
        }

        Assert.Equal("Results: sunny, noon", text);
        Assert.Contains("noon", fixture.Upstream.LastCall(provider).Body.ToJsonString());
    }
}

using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using LlmMiddleware.FunctionalTests.Infrastructure;

namespace LlmMiddleware.FunctionalTests;

/// <summary>
/// Claude Code's first request of a session, recorded (Recordings/claude-code-2.1.197-first-request.json), replayed
/// through the gateway to each provider kind: its mid-conversation <c>role:"system"</c> message (beta
/// mid-conversation-system-2026-04-07) is accepted and reaches each provider in place, in its own terms; so does a
/// tool loop continuing from it.
/// </summary>
public sealed class ClaudeCodeReplayTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    public static TheoryData<string, string> Providers => new() { { "claude", "anthropic" }, { "gpt", "openai" }, { "gem", "gemini" } };

    private static JsonObject Recording() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Recordings", "claude-code-2.1.197-first-request.json")))!.AsObject();

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task TheFirstRequestOfASessionIsAnsweredAndItsSystemMessageStaysInPlace(string model, string provider)
    {
        var recording = Recording();
        var body = recording["body"]!.AsObject();
        var instructions = body["messages"]![1]!["content"]!.GetValue<string>();

        var stream = await ReplayAsync(recording, model);

        Assert.Contains("event: message_stop", stream);
        var sent = fixture.Upstream.LastCall(provider);
        switch (provider)
        {
            case "anthropic":
                Assert.Equal(["user", "system"], sent.Body["messages"]!.AsArray().Select(m => m!["role"]!.GetValue<string>()));
                Assert.Equal(instructions, sent.Body["messages"]![1]!["content"]!.GetValue<string>()); // the caller's bytes, passed through
                Assert.Contains("mid-conversation-system-2026-04-07", sent.Headers["anthropic-beta"].ToString());
                break;
            case "openai":
                // Top-level system first, then the conversation with the instructions where Claude Code put them.
                Assert.Equal(["system", "user", "system"], sent.Body["messages"]!.AsArray().Select(m => m!["role"]!.GetValue<string>()));
                Assert.Equal(instructions, sent.Body["messages"]![2]!["content"]!.GetValue<string>());
                break;
            default:
                // Gemini has no such role: the instructions join the user turn they follow, after its text.
                var turn = sent.Body["contents"]!.AsArray().Single()!;
                Assert.Equal("user", turn["role"]!.GetValue<string>());
                Assert.Equal(instructions, turn["parts"]!.AsArray()[^1]!["text"]!.GetValue<string>());
                Assert.NotNull(sent.Body["systemInstruction"]);
                break;
        }
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task AToolLoopContinuingTheSessionIsAnswered(string model, string provider)
    {
        var recording = Recording();
        var messages = recording["body"]!["messages"]!.AsArray();
        messages.Add(new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_01ReplayRead", ["name"] = "Read", ["input"] = new JsonObject { ["file_path"] = "/tmp/notes.txt" } }),
        });
        messages.Add(new JsonObject
        {
            ["role"] = "user",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = "toolu_01ReplayRead", ["content"] = "the notes say four" }),
        });

        var stream = await ReplayAsync(recording, model);

        Assert.Contains("event: message_stop", stream);
        Assert.Contains("the notes say four", fixture.Upstream.LastCall(provider).Body.ToJsonString());
    }

    private async Task<string> ReplayAsync(JsonObject recording, string model)
    {
        recording["body"]!["model"] = model;
        using var request = new HttpRequestMessage(HttpMethod.Post, fixture.Gateway.BaseUrl + recording["path"]!.GetValue<string>())
        {
            Content = new StringContent(recording["body"]!.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in recording["headers"]!.AsObject())
        {
            request.Headers.TryAddWithoutValidation(name, value!.GetValue<string>());
        }

        request.Headers.Add("x-api-key", "caller-key");
        using var response = await fixture.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return text;
    }
}

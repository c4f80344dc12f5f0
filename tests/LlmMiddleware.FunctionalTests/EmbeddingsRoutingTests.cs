using System.ClientModel;
using LlmMiddleware.FunctionalTests.Infrastructure;
using OpenAI;
using OpenAI.Embeddings;

namespace LlmMiddleware.FunctionalTests;

/// <summary>Embeddings through a model group, with the official OpenAI SDK: deployments without an embeddings API are
/// passed over, and a failing one falls back to the next, whose answer (Gemini's, translated) reports counted usage.</summary>
public sealed class EmbeddingsRoutingTests : GroupGatewayTestBase
{
    protected override Dictionary<string, string?> Settings => new()
    {
        ["LlmGateway:Groups:vectors:Deployments:0:Provider"] = "anthropic",
        ["LlmGateway:Groups:vectors:Deployments:0:Model"] = "claude-sonnet-4-5",
        ["LlmGateway:Groups:vectors:Deployments:1:Provider"] = "openai",
        ["LlmGateway:Groups:vectors:Deployments:1:Model"] = "text-embedding-3-small",
        ["LlmGateway:Groups:vectors:Deployments:2:Provider"] = "gemini",
        ["LlmGateway:Groups:vectors:Deployments:2:Model"] = "gemini-embedding-001",
        ["LlmGateway:Groups:vectors:MaxRetries"] = "0",
    };

    private EmbeddingClient Client() =>
        new OpenAIClient(new ApiKeyCredential("k"), new OpenAIClientOptions { Endpoint = new Uri(Gateway.BaseUrl + "/v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) }).GetEmbeddingClient("vectors");

    [Fact]
    public async Task AGroupsFirstDeploymentWithEmbeddingsAnswers()
    {
        var count = Hook.Completed.Count;
        OpenAIEmbeddingCollection embeddings = await Client().GenerateEmbeddingsAsync(["first text", "second text"]);

        Assert.Equal(2, embeddings.Count);
        await Hook.Changes.UntilAsync(() => Hook.Completed.Count > count, "The call never completed.");
        Assert.Equal(["openai/text-embedding-3-small"], Hook.Completed.Last().Attempts.Select(a => a.Deployment));
    }

    [Fact]
    public async Task AFailingDeploymentFallsBackToTheNextWithItsUsageCounted()
    {
        Upstream.Enqueue(new FakeFault { Status = 503, Body = """{"error":{"message":"The engine is currently overloaded","type":"server_error"}}""" });
        var count = Hook.Completed.Count;

        OpenAIEmbeddingCollection embeddings = await Client().GenerateEmbeddingsAsync(["first text", "second text"]);

        Assert.Equal(2, embeddings.Count);
        Assert.True(embeddings.Usage.InputTokenCount > 0);
        await Hook.Changes.UntilAsync(() => Hook.Completed.Count > count, "The call never completed.");
        var context = Hook.Completed.Last();
        Assert.Equal(["openai/text-embedding-3-small", "gemini/gemini-embedding-001"], context.Attempts.Select(a => a.Deployment));
        Assert.Equal(LlmAttemptOutcome.Failed, context.Attempts[0].Outcome);
        Assert.Equal("gemini", context.ProviderName);
    }
}

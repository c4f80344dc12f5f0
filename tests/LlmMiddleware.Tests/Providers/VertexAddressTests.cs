using LlmMiddleware.Providers;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Tests.Providers;

/// <summary>Where Vertex AI and Bedrock calls go: the project's and location's host (none regional for <c>global</c>),
/// the region's Bedrock runtime; the model in the path.</summary>
public sealed class VertexAddressTests
{
    [Fact]
    public void BedrockCallsGoToTheRegionsRuntimeWithTheModelInThePath()
    {
        var options = new LlmGatewayOptions { UseEnvironmentVariables = false };
        options.Providers["bedrock"] = new LlmProviderOptions { Region = "eu-west-1" };
        options.Providers["claude-aws"] = new LlmProviderOptions { Type = "bedrock-anthropic", Region = "eu-west-1" };
        using var registry = new LlmProviderRegistry(Options.Create(options));

        Assert.True(registry.TryGetProvider("bedrock", out var converse));
        Assert.True(registry.TryGetProvider("claude-aws", out var invoke));
        Assert.Equal("https://bedrock-runtime.eu-west-1.amazonaws.com/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream", converse.ChatUri("anthropic.claude-sonnet-4-5-20250929-v1:0", stream: true).AbsoluteUri);
        Assert.Equal("https://bedrock-runtime.eu-west-1.amazonaws.com/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke", invoke.ChatUri("anthropic.claude-sonnet-4-5-20250929-v1:0", stream: false).AbsoluteUri);
        Assert.Equal((LlmProtocol.BedrockConverse, LlmProtocol.AnthropicMessages), (converse.Protocol, invoke.Protocol));
    }

    [Theory]
    [InlineData("us-east5", "https://us-east5-aiplatform.googleapis.com/v1/projects/acme-prod/locations/us-east5")]
    [InlineData("global", "https://aiplatform.googleapis.com/v1/projects/acme-prod/locations/global")]
    public void TheBaseUrlIsTheProjectsAndLocations(string location, string expected)
    {
        var options = new LlmGatewayOptions { UseEnvironmentVariables = false };
        options.Providers["vertex"] = new LlmProviderOptions { Project = "acme-prod", Location = location };
        options.Providers["claude-vertex"] = new LlmProviderOptions { Type = "vertex-anthropic", Project = "acme-prod", Location = location };
        using var registry = new LlmProviderRegistry(Options.Create(options));

        Assert.True(registry.TryGetProvider("vertex", out var gemini));
        Assert.True(registry.TryGetProvider("claude-vertex", out var claude));
        Assert.Equal(expected + "/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse", gemini.ChatUri("gemini-2.5-pro", stream: true).ToString());
        Assert.Equal(expected + "/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict", claude.ChatUri("claude-sonnet-4-5@20250929", stream: false).ToString());
        Assert.Equal((LlmProtocol.Gemini, LlmProtocol.AnthropicMessages), (gemini.Protocol, claude.Protocol));
        Assert.False(claude.CanPassThrough(LlmProtocol.AnthropicMessages)); // the body differs from Anthropic's own
    }
}

using LlmMiddleware.Providers;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Tests.Providers;

/// <summary>Where Vertex AI calls go: the project's and location's host (none regional for <c>global</c>), the model in the path.</summary>
public sealed class VertexAddressTests
{
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

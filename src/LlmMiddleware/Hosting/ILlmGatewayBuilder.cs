using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware;

/// <summary>Configures the LLM gateway services; returned by <c>AddLlmGateway()</c>.</summary>
public interface ILlmGatewayBuilder
{
    /// <summary>The application's services.</summary>
    IServiceCollection Services { get; }
}

internal sealed class LlmGatewayBuilder(IServiceCollection services) : ILlmGatewayBuilder
{
    public IServiceCollection Services { get; } = services;
}

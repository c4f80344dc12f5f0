namespace LlmMiddleware;

/// <summary>A model group: deployments that can serve the same alias, and how to choose among them.</summary>
public sealed class LlmModelGroupOptions
{
    /// <summary>How deployments are ordered per request. Default <see cref="LlmRoutingStrategy.Priority"/>.</summary>
    public LlmRoutingStrategy Strategy { get; set; } = LlmRoutingStrategy.Priority;

    /// <summary>The deployments, in priority order.</summary>
    public List<LlmDeploymentOptions> Deployments { get; set; } = [];
}

/// <summary>One deployment of a model group: a provider and upstream model, optionally with its own endpoint and key.</summary>
public sealed class LlmDeploymentOptions
{
    /// <summary>A name for logs, headers and health; defaults to <c>provider/model</c>.</summary>
    public string? Name { get; set; }

    /// <summary>The provider (configured or built-in).</summary>
    public string Provider { get; set; } = "";

    /// <summary>The upstream model (for Azure OpenAI, the deployment name).</summary>
    public string Model { get; set; } = "";

    /// <summary>A base URL for this deployment only (another region or resource of the same provider kind).</summary>
    public string? BaseUrl { get; set; }

    /// <summary>An API key for this deployment only.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Relative share for <see cref="LlmRoutingStrategy.WeightedRandom"/>. Default 1.</summary>
    public double Weight { get; set; } = 1;

    /// <summary>Free-form tags for routing hooks (<c>eu</c>, <c>us</c>, <c>batch</c>, ...).</summary>
    public List<string> Tags { get; set; } = [];
}

namespace LlmMiddleware;

/// <summary>A model group: deployments that can serve the same alias, and how to choose among them.</summary>
public sealed class LlmModelGroupOptions
{
    /// <summary>How deployments are ordered per request. Default <see cref="LlmRoutingStrategy.Priority"/>.</summary>
    public LlmRoutingStrategy Strategy { get; set; } = LlmRoutingStrategy.Priority;

    /// <summary>The deployments, in priority order.</summary>
    public List<LlmDeploymentOptions> Deployments { get; set; } = [];

    /// <summary>Other groups tried, in order, when every deployment of this one failed before the response began.</summary>
    public List<string> Fallbacks { get; set; } = [];

    /// <summary>Retries on the same deployment after a 429, 408, 5xx or 529, before moving to the next. Default 1.</summary>
    public int MaxRetries { get; set; } = 1;

    /// <summary>First retry delay, doubled per retry, with jitter; a provider's <c>Retry-After</c> wins. Default 500 ms.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>A <c>Retry-After</c> longer than this moves on to the next deployment instead of waiting. Default 10 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>When a deployment is put in cooldown (skipped, then probed) after repeated failures.</summary>
    public LlmCooldownOptions Cooldown { get; set; } = new();

    /// <summary>Racing (hedged requests) across the group's first deployments.</summary>
    public LlmRaceOptions Race { get; set; } = new();
}

/// <summary>
/// Racing: the same request goes to several deployments, at once or after a delay; the first successful response (for
/// streams, the first to deliver content) wins and is the only one the caller sees; the others are cancelled upstream and recorded.
/// </summary>
public sealed class LlmRaceOptions
{
    /// <summary>How many deployments may run the request; 1 (default) turns racing off. At most 10.</summary>
    public int Attempts { get; set; } = 1;

    /// <summary>Wait before launching the next deployment; 0 races all at once. <see langword="null"/> (default) waits
    /// for the first deployment's observed 95th-percentile time to first token (no wait before it has samples).</summary>
    public TimeSpan? Delay { get; set; }
}

/// <summary>Cooldown of a failing deployment: a circuit breaker per deployment.</summary>
public sealed class LlmCooldownOptions
{
    /// <summary>Share of failed calls within <see cref="SamplingDuration"/> that starts a cooldown. Default 0.5.</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Calls needed within <see cref="SamplingDuration"/> before the ratio counts. Default 4.</summary>
    public int MinimumThroughput { get; set; } = 4;

    /// <summary>The window failures are counted in. Default 30 s.</summary>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a deployment is skipped before one probe call may try it again. Default 30 s.</summary>
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(30);
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

    /// <summary>Most requests this gateway instance sends to the deployment at once; <see langword="null"/> for no limit.
    /// A deployment at its limit is tried after the others, and skipped when reached.</summary>
    public int? MaxConcurrency { get; set; }

    /// <summary>Most requests per minute this gateway instance sends to the deployment; <see langword="null"/> for no limit.</summary>
    public int? RequestsPerMinute { get; set; }
}

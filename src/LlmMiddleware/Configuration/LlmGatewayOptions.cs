namespace LlmMiddleware;

/// <summary>
/// Gateway settings, bound from the <c>LlmGateway</c> configuration section and adjustable in code through
/// <c>AddLlmGateway(options =&gt; ...)</c>.
/// </summary>
public sealed class LlmGatewayOptions
{
    /// <summary>The configuration section the options are bound from.</summary>
    public const string SectionName = "LlmGateway";

    /// <summary>Providers by name. Built-in names (<c>openai</c>, <c>anthropic</c>, <c>gemini</c>, <c>groq</c>, ...) exist
    /// without configuration; an entry here overrides or adds one.</summary>
    public Dictionary<string, LlmProviderOptions> Providers { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Model aliases: the name a caller uses → the provider and upstream model that serve it.</summary>
    public Dictionary<string, LlmModelRoute> Models { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Model groups: the name a caller uses → several deployments and the strategy that orders them.</summary>
    public Dictionary<string, LlmModelGroupOptions> Groups { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Cost metering: the unpriced-model policy, cost headers and how records are flushed to sinks.</summary>
    public LlmMeteringOptions Metering { get; } = new();

    /// <summary>Response caching: the default policy, named policies, and the semantic cache's embeddings and index.</summary>
    public LlmCacheOptions Cache { get; } = new();

    /// <summary>Catalog entries by <c>provider/model</c>, replacing or adding to the built-in catalog.</summary>
    public Dictionary<string, LlmModelInfo> Catalog { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Whether the built-in providers read their keys and base URLs from the usual environment variables
    /// (<c>OPENAI_API_KEY</c>, <c>ANTHROPIC_BASE_URL</c>, ...). Default <see langword="true"/>.</summary>
    public bool UseEnvironmentVariables { get; set; } = true;

    /// <summary>Largest accepted request body, in bytes. Default 32 MiB.</summary>
    public long MaxRequestBodyBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Largest accepted non-streamed upstream response body, in bytes. Default 64 MiB.</summary>
    public long MaxResponseBodyBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary><c>max_tokens</c> sent to Anthropic when the caller gave none (Anthropic requires it). Default 4096.</summary>
    public int DefaultMaxTokens { get; set; } = 4096;

    /// <summary>Whether responses carry the route headers <c>x-llm-provider</c>, <c>x-llm-model</c>, <c>x-llm-deployment</c>
    /// and <c>x-llm-attempts</c>. Default <see langword="true"/>; turn off to keep routing details from callers.</summary>
    public bool EmitRouteHeaders { get; set; } = true;

    /// <summary>
    /// Whether callers may steer their own routing on OpenAI-protocol requests, OpenRouter-style: <c>models</c> (fallback
    /// models, each also checked against the caller's virtual key) and <c>provider: {order, allow_fallbacks, sort}</c>.
    /// They only reorder or narrow what the host configured. Default <see langword="true"/>; when off, the fields are
    /// not interpreted and reach an OpenAI-protocol provider as the caller sent them.
    /// </summary>
    public bool PerRequestRouting { get; set; } = true;

    /// <summary>Caller request headers that LLM routes on YARP forward to providers besides the built-in few
    /// (<c>Accept</c>, <c>User-Agent</c>, trace context, and an Anthropic caller's <c>anthropic-*</c> to Anthropic).
    /// Empty by default: credentials, cookies and identity or organization headers never leave the edge.</summary>
    public HashSet<string> ForwardRequestHeaders { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Time limit for one upstream call, headers and body. Default 10 minutes.</summary>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Time limit for a provider's first token: its response headers and, for streams, its first content;
    /// <see langword="null"/> (default) for none beyond <see cref="UpstreamTimeout"/>. When it runs out, a model group
    /// falls back to its next deployment (nothing has reached the caller yet).</summary>
    public TimeSpan? FirstTokenTimeout { get; set; }

    /// <summary>Longest silence allowed between two reads of a streamed response; the stream then ends with an error
    /// event in the caller's protocol. Default 2 minutes.</summary>
    public TimeSpan StreamIdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Time limit for connecting to a provider. Default 10 seconds.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether image URLs are downloaded and inlined for providers that accept only inline images (Gemini). Default
    /// <see langword="true"/>; downloads are limited to <see cref="MaxInlinedImageBytes"/> and to public addresses
    /// unless <see cref="AllowPrivateImageHosts"/> is set.
    /// </summary>
    public bool InlineRemoteImages { get; set; } = true;

    /// <summary>Largest image downloaded for inlining, in bytes. Default 20 MiB.</summary>
    public long MaxInlinedImageBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>Most distinct image URLs downloaded for one request (a URL repeated is fetched once). Default 16.</summary>
    public int MaxInlinedImages { get; set; } = 16;

    /// <summary>Most bytes downloaded for one request's images together. Default 40 MiB.</summary>
    public long MaxInlinedBytesPerRequest { get; set; } = 40 * 1024 * 1024;

    /// <summary>Time limit for fetching one request's images, all together (within <see cref="UpstreamTimeout"/>): a
    /// server that trickles its body is cut off. Default 20 seconds.</summary>
    public TimeSpan InlineImagesTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Whether image downloads may reach loopback, private and link-local addresses (off by default, so a
    /// caller cannot make the gateway fetch from its internal network).</summary>
    public bool AllowPrivateImageHosts { get; set; }

    /// <summary>Adds or replaces a provider.</summary>
    public LlmGatewayOptions AddProvider(string name, LlmProviderOptions provider)
    {
        Providers[name] = provider;
        return this;
    }

    /// <summary>Adds or replaces a model group.</summary>
    public LlmGatewayOptions AddGroup(string name, LlmModelGroupOptions group)
    {
        Groups[name] = group;
        return this;
    }

    /// <summary>Adds or replaces a model alias.</summary>
    public LlmGatewayOptions AddModel(string alias, string provider, string model)
    {
        Models[alias] = new LlmModelRoute { Provider = provider, Model = model };
        return this;
    }
}

/// <summary>A model alias target.</summary>
public sealed class LlmModelRoute
{
    /// <summary>The provider name.</summary>
    public string Provider { get; set; } = "";

    /// <summary>The model name sent upstream (for Azure OpenAI, the deployment name).</summary>
    public string Model { get; set; } = "";
}

/// <summary>One provider: its kind, credentials and endpoint.</summary>
public sealed class LlmProviderOptions
{
    /// <summary>
    /// The provider kind: <c>openai</c>, <c>azure</c>, <c>anthropic</c>, <c>gemini</c>, <c>openai-compatible</c>,
    /// <c>simulated</c>, or a preset (<c>groq</c>, <c>cerebras</c>, <c>deepinfra</c>, <c>mistral</c>, <c>xai</c>,
    /// <c>openrouter</c>, <c>together</c>, <c>fireworks</c>, <c>vllm</c>, <c>ollama</c>). Defaults to the provider's name.
    /// </summary>
    public string? Type { get; set; }

    /// <summary>The API key. Never sent anywhere but this provider, never logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Base URL, in the provider SDK's convention (OpenAI: with <c>/v1</c>; Anthropic and Gemini: the host;
    /// Azure: the resource endpoint).</summary>
    public string? BaseUrl { get; set; }

    /// <summary>Azure OpenAI <c>api-version</c>.</summary>
    public string? ApiVersion { get; set; }

    /// <summary>Amazon Bedrock: the AWS region (else <c>AWS_REGION</c>, <c>AWS_DEFAULT_REGION</c>).</summary>
    public string? Region { get; set; }

    /// <summary>Vertex AI: the Google Cloud project (else <c>GOOGLE_CLOUD_PROJECT</c>).</summary>
    public string? Project { get; set; }

    /// <summary>Vertex AI: the location, such as <c>us-central1</c>, <c>us-east5</c> or <c>global</c> (else
    /// <c>GOOGLE_CLOUD_LOCATION</c>, else <c>us-central1</c>).</summary>
    public string? Location { get; set; }

    /// <summary>Extra headers sent with every request to this provider.</summary>
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);
}

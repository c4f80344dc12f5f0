using System.Net.Http.Headers;
using LlmMiddleware.Protocols;
using LlmMiddleware.Protocols.OpenAI;

namespace LlmMiddleware.Providers;

/// <summary>A resolved, ready-to-call provider: URL layout, credentials and protocol.</summary>
internal sealed class LlmProviderEndpoint
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");
    private static readonly MediaTypeWithQualityHeaderValue EventStream = new("text/event-stream");
    private readonly string _baseUrl;
    private readonly string? _apiKey;
    private readonly string? _bearer;
    private Uri? _fixedChatUri;

    public LlmProviderEndpoint(string name, ProviderPreset preset, string? baseUrl, string? apiKey, string? apiVersion, IReadOnlyDictionary<string, string> headers, HttpMessageInvoker invoker)
    {
        Name = name;
        Preset = preset;
        Kind = preset.Kind;
        Dialect = preset.Dialect;
        KeyVariable = preset.KeyVariable;
        RequiresKey = preset.RequiresKey;
        _baseUrl = (baseUrl ?? preset.DefaultBaseUrl ?? "").TrimEnd('/');
        _apiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey;
        _bearer = _apiKey is null ? null : "Bearer " + _apiKey; // once, not per request
        ApiVersion = apiVersion ?? "2024-10-21";
        Headers = headers;
        Invoker = invoker;
        Protocol = Kind switch
        {
            LlmProviderKind.Anthropic or LlmProviderKind.VertexAnthropic or LlmProviderKind.BedrockAnthropic => LlmProtocol.AnthropicMessages,
            LlmProviderKind.Gemini or LlmProviderKind.VertexGemini => LlmProtocol.Gemini,
            LlmProviderKind.Bedrock => LlmProtocol.BedrockConverse,
            _ => LlmProtocol.OpenAIChat,
        };
        Codec = LlmCodec.For(Protocol);
    }

    public string Name { get; }

    /// <summary>The built-in kind this provider was configured from (<c>openai</c>, <c>azure</c>, <c>groq</c>, ...).</summary>
    public ProviderPreset Preset { get; }

    public string PresetName => Preset.Name;

    public LlmProviderKind Kind { get; }

    public LlmProtocol Protocol { get; }

    /// <summary>Reads and writes <see cref="Protocol"/>.</summary>
    public LlmCodec Codec { get; }

    public OpenAIDialect Dialect { get; }

    public string? KeyVariable { get; }

    public bool RequiresKey { get; }

    public string ApiVersion { get; }

    public IReadOnlyDictionary<string, string> Headers { get; }

    public HttpMessageInvoker Invoker { get; }

    /// <summary>Whether requests go through an <see cref="LlmProviderAuthenticator"/> (Vertex AI's OAuth tokens).</summary>
    public bool Authenticated { get; init; }

    public string BaseUrl => _baseUrl;

    /// <summary>The key, for building derived endpoints only; never log or return it.</summary>
    public string? ApiKey => _apiKey;


    /// <summary>
    /// Same protocol on both sides and no dialect quirks, or a Responses call to OpenAI or Azure OpenAI (which serve
    /// that API too): the caller's bytes can go upstream as they are.
    /// </summary>
    public bool CanPassThrough(LlmProtocol inbound) => Dialect == OpenAIDialect.None &&
        (inbound == Protocol && Kind is LlmProviderKind.OpenAI or LlmProviderKind.AzureOpenAI or LlmProviderKind.Anthropic
         || LlmCodec.For(inbound).OpenAIApiPath is not null && Kind is LlmProviderKind.OpenAI or LlmProviderKind.AzureOpenAI);

    /// <summary>The codec of what this provider answers: its own, or, passed through, the caller's.</summary>
    public LlmCodec CodecFor(LlmProtocol inbound, bool passthrough) => passthrough ? LlmCodec.For(inbound) : Codec;

    /// <summary>The URL of another OpenAI API (<see cref="LlmCodec.OpenAIApiPath"/>) here; Azure's v1 API takes no api-version.</summary>
    public Uri OpenAIApiUri(string path) => new(_baseUrl + (Kind == LlmProviderKind.AzureOpenAI ? "/openai/v1" + path : path));

    /// <summary>The path and query of a chat call, relative to the base URL.</summary>
    public string ChatPath(string model, bool stream) => Kind switch
    {
        LlmProviderKind.Anthropic => "/v1/messages",
        LlmProviderKind.Gemini => stream
            ? $"/v1beta/models/{Uri.EscapeDataString(model)}:streamGenerateContent?alt=sse"
            : $"/v1beta/models/{Uri.EscapeDataString(model)}:generateContent",
        LlmProviderKind.AzureOpenAI => $"/openai/deployments/{Uri.EscapeDataString(model)}/chat/completions?api-version={Uri.EscapeDataString(ApiVersion)}",
        LlmProviderKind.VertexGemini => $"/publishers/google/models/{VertexModel(model)}:{(stream ? "streamGenerateContent?alt=sse" : "generateContent")}",
        LlmProviderKind.VertexAnthropic => $"/publishers/anthropic/models/{VertexModel(model)}:{(stream ? "streamRawPredict" : "rawPredict")}",
        LlmProviderKind.Bedrock => $"/model/{Uri.EscapeDataString(model)}/{(stream ? "converse-stream" : "converse")}",
        LlmProviderKind.BedrockAnthropic => $"/model/{Uri.EscapeDataString(model)}/{(stream ? "invoke-with-response-stream" : "invoke")}",
        _ => "/chat/completions",
    };

    /// <summary>
    /// Adapts a written Anthropic body for a provider that names the model in the URL (Claude on Vertex AI and on
    /// Bedrock): without <c>model</c>, with the <c>anthropic_version</c> it requires.
    /// </summary>
    public void AdaptBody(Utilities.PooledBufferWriter body)
    {
        var version = Kind switch
        {
            LlmProviderKind.VertexAnthropic => "vertex-2023-10-16"u8,
            LlmProviderKind.BedrockAnthropic => "bedrock-2023-05-31"u8,
            _ => default,
        };
        if (version.IsEmpty)
        {
            return;
        }

        using var copy = new Utilities.PooledBufferWriter(body.WrittenCount + 48);
        using (var writer = new System.Text.Json.Utf8JsonWriter(copy, Json.WriterOptions))
        {
            using var document = System.Text.Json.JsonDocument.Parse(body.WrittenMemory);
            writer.WriteStartObject();
            writer.WriteString("anthropic_version"u8, version);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!property.NameEquals("model"u8))
                {
                    property.WriteTo(writer);
                }
            }

            writer.WriteEndObject();
        }

        body.Clear();
        Json.Write(body, copy.WrittenSpan);
    }

    // Vertex AI names dated models with '@' (claude-sonnet-4-5@20250929), which its paths carry as it is.
    private static string VertexModel(string model) => Uri.EscapeDataString(model).Replace("%40", "@", StringComparison.Ordinal);

    /// <summary>Bedrock's runtime URL in a region.</summary>
    public static string BedrockBaseUrl(string region) => $"https://bedrock-runtime.{region}.amazonaws.com";

    /// <summary>Vertex AI's base URL for a project and location (<c>global</c> has no regional host).</summary>
    public static string VertexBaseUrl(string project, string location) =>
        $"https://{(location == "global" ? "" : location + "-")}aiplatform.googleapis.com/v1/projects/{Uri.EscapeDataString(project)}/locations/{Uri.EscapeDataString(location)}";

    /// <summary>The URL of a chat call: made once where it does not depend on the model.</summary>
    public Uri ChatUri(string model, bool stream) => Kind is not (LlmProviderKind.OpenAI or LlmProviderKind.OpenAICompatible or LlmProviderKind.Anthropic or LlmProviderKind.Simulated)
        ? new Uri(_baseUrl + ChatPath(model, stream))
        : _fixedChatUri ??= new Uri(_baseUrl + ChatPath(model, stream));

    /// <summary>The path and query of an embeddings call, relative to the base URL.</summary>
    public string EmbeddingsPath(string model) => Kind switch
    {
        LlmProviderKind.Gemini => $"/v1beta/models/{Uri.EscapeDataString(model)}:batchEmbedContents",
        LlmProviderKind.AzureOpenAI => $"/openai/deployments/{Uri.EscapeDataString(model)}/embeddings?api-version={Uri.EscapeDataString(ApiVersion)}",
        LlmProviderKind.VertexGemini or LlmProviderKind.Bedrock or LlmProviderKind.BedrockAnthropic => throw new LlmGatewayException(new LlmError(LlmErrorKind.InvalidRequest, $"Embeddings through the {Name} provider are not served by this gateway.") { Param = "model" }),
        _ => "/embeddings",
    };

    public void EnsureUsable()
    {
        if (RequiresKey && _apiKey is null)
        {
            throw new LlmGatewayException(new LlmError(
                LlmErrorKind.InvalidRequest,
                $"Provider '{Name}' has no API key: set {KeyVariable ?? "an API key"} or LlmGateway:Providers:{Name}:ApiKey.")
            {
                Code = LlmErrorCodes.ProviderNotConfigured,
            });
        }

        if (Kind is LlmProviderKind.VertexGemini or LlmProviderKind.VertexAnthropic or LlmProviderKind.Bedrock or LlmProviderKind.BedrockAnthropic && !Authenticated)
        {
            throw new LlmGatewayException(new LlmError(LlmErrorKind.InvalidRequest, Kind is LlmProviderKind.Bedrock or LlmProviderKind.BedrockAnthropic
                ? $"Provider '{Name}' (Amazon Bedrock) has no credentials: add the LlmMiddleware.Bedrock package and call AddLlmGateway().AddBedrock()."
                : $"Provider '{Name}' (Vertex AI) has no credentials: add the LlmMiddleware.Vertex package and call AddLlmGateway().AddVertex().")
            {
                Code = LlmErrorCodes.ProviderNotConfigured,
            });
        }

        if (_baseUrl.Length == 0)
        {
            throw new LlmGatewayException(new LlmError(LlmErrorKind.InvalidRequest, Kind is LlmProviderKind.VertexGemini or LlmProviderKind.VertexAnthropic
                ? $"Provider '{Name}' (Vertex AI) has no project: set LlmGateway:Providers:{Name}:Project (and Location), or GOOGLE_CLOUD_PROJECT."
                : $"Provider '{Name}' has no base URL: set LlmGateway:Providers:{Name}:BaseUrl.")
            {
                Code = LlmErrorCodes.ProviderNotConfigured,
            });
        }
    }

    public HttpRequestMessage CreateRequest(string pathAndQuery, ReadOnlyMemory<byte> body, bool stream) =>
        CreateRequest(new Uri(_baseUrl + pathAndQuery), body, stream);

    public HttpRequestMessage CreateRequest(Uri url, ReadOnlyMemory<byte> body, bool stream)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new ReadOnlyMemoryContent(body),

            // HTTP/2 where the provider offers it over TLS (multiplexed streams), HTTP/1.1 otherwise.
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        request.Content.Headers.ContentType = JsonContentType;
        ApplyHeaders(request.Headers, stream);
        return request;
    }

    /// <summary>Sets this provider's credentials and fixed headers. The caller's own credentials never reach here.</summary>
    public void ApplyHeaders(HttpRequestHeaders headers, bool stream)
    {
        if (stream)
        {
            headers.Accept.Add(EventStream);
        }

        switch (Kind)
        {
            case LlmProviderKind.Anthropic:
                if (!headers.Contains("anthropic-version"))
                {
                    headers.TryAddWithoutValidation("anthropic-version", "2023-06-01"); // an Anthropic caller's own is kept
                }

                if (_apiKey is not null)
                {
                    headers.TryAddWithoutValidation("x-api-key", _apiKey);
                }

                break;
            case LlmProviderKind.Gemini:
                if (_apiKey is not null)
                {
                    headers.TryAddWithoutValidation("x-goog-api-key", _apiKey);
                }

                break;
            case LlmProviderKind.AzureOpenAI:
                if (_apiKey is not null)
                {
                    headers.TryAddWithoutValidation("api-key", _apiKey);
                }

                break;
            case LlmProviderKind.VertexGemini or LlmProviderKind.VertexAnthropic or LlmProviderKind.Bedrock or LlmProviderKind.BedrockAnthropic:
                break; // an OAuth token or a SigV4 signature, added per request by the provider's authenticator
            default:
                if (_apiKey is not null)
                {
                    headers.TryAddWithoutValidation("Authorization", _bearer);
                }

                break;
        }

        foreach (var (name, value) in Headers)
        {
            headers.Remove(name);
            headers.TryAddWithoutValidation(name, value);
        }
    }

    /// <summary>The same provider with another base URL or key (a deployment in another region or resource).</summary>
    public LlmProviderEndpoint With(string? baseUrl, string? apiKey) => baseUrl is null && apiKey is null
        ? this
        : new LlmProviderEndpoint(Name, Preset, baseUrl ?? _baseUrl, apiKey ?? _apiKey, ApiVersion, Headers, Invoker) { Authenticated = Authenticated };

    /// <summary>Never prints the key.</summary>
    public override string ToString() => $"{Name} ({Kind}, {_baseUrl})";
}

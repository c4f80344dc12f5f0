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
            LlmProviderKind.Anthropic => LlmProtocol.AnthropicMessages,
            LlmProviderKind.Gemini => LlmProtocol.Gemini,
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
        _ => "/chat/completions",
    };

    /// <summary>The URL of a chat call: made once where it does not depend on the model.</summary>
    public Uri ChatUri(string model, bool stream) => Kind is LlmProviderKind.Gemini or LlmProviderKind.AzureOpenAI
        ? new Uri(_baseUrl + ChatPath(model, stream))
        : _fixedChatUri ??= new Uri(_baseUrl + ChatPath(model, stream));

    /// <summary>The path and query of an embeddings call, relative to the base URL.</summary>
    public string EmbeddingsPath(string model) => Kind switch
    {
        LlmProviderKind.Gemini => $"/v1beta/models/{Uri.EscapeDataString(model)}:batchEmbedContents",
        LlmProviderKind.AzureOpenAI => $"/openai/deployments/{Uri.EscapeDataString(model)}/embeddings?api-version={Uri.EscapeDataString(ApiVersion)}",
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

        if (_baseUrl.Length == 0)
        {
            throw new LlmGatewayException(new LlmError(LlmErrorKind.InvalidRequest, $"Provider '{Name}' has no base URL: set LlmGateway:Providers:{Name}:BaseUrl.")
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
        : new LlmProviderEndpoint(Name, Preset, baseUrl ?? _baseUrl, apiKey ?? _apiKey, ApiVersion, Headers, Invoker);

    /// <summary>Never prints the key.</summary>
    public override string ToString() => $"{Name} ({Kind}, {_baseUrl})";
}

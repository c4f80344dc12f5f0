using System.Collections.Frozen;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Providers;

/// <summary>
/// The providers and model aliases in force: built-in presets configured from environment variables, overridden
/// and extended by <see cref="LlmGatewayOptions"/>. Resolves the model name a caller sends.
/// </summary>
internal sealed class LlmProviderRegistry : IDisposable
{
    private readonly FrozenDictionary<string, LlmProviderEndpoint> _providers;
    private readonly FrozenDictionary<string, LlmModelRoute> _models;
    private readonly SocketsHttpHandler _handler;

    public LlmProviderRegistry(IOptions<LlmGatewayOptions> options, IConfiguration? configuration = null, TimeProvider? timeProvider = null, IEnumerable<LlmProviderAuthenticator>? authenticators = null, Microsoft.Extensions.Logging.ILoggerFactory? loggers = null)
    {
        var settings = options.Value;
        _handler = new SocketsHttpHandler
        {
            ConnectTimeout = settings.ConnectTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            UseCookies = false,
            AllowAutoRedirect = false, // a redirect would carry x-api-key / api-key / x-goog-api-key to wherever it points
            EnableMultipleHttp2Connections = true,
        };
        var shared = new HttpMessageInvoker(_handler, disposeHandler: false);
        var simulated = new HttpMessageInvoker(new SimulatedProviderHandler(timeProvider ?? TimeProvider.System), disposeHandler: true);

        string? Variable(string? name) => name is null || !settings.UseEnvironmentVariables
            ? null
            : configuration?[name] is { Length: > 0 } fromConfiguration ? fromConfiguration : Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;

        // Providers authenticated per request (Vertex AI) share the pool through their authenticator.
        var authenticated = new Dictionary<string, HttpMessageInvoker>(StringComparer.OrdinalIgnoreCase);
        foreach (var authenticator in authenticators ?? [])
        {
            var logger = Microsoft.Extensions.Logging.LoggerFactoryExtensions.CreateLogger<AuthenticatingHandler>(loggers ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
            var invoker = new HttpMessageInvoker(new AuthenticatingHandler(authenticator, _handler, logger), disposeHandler: false);
            foreach (var type in authenticator.ProviderTypes)
            {
                authenticated[type] = invoker;
            }
        }

        HttpMessageInvoker InvokerFor(ProviderPreset preset) =>
            preset.Kind == LlmProviderKind.Simulated ? simulated : authenticated.GetValueOrDefault(preset.Name) ?? shared;

        // Vertex AI's base URL is its project's and location's, Bedrock's its region's, unless set outright (BaseUrl).
        string? BaseUrl(ProviderPreset preset, string? configured, LlmProviderOptions? provider) =>
            configured ?? preset.Kind switch
            {
                LlmProviderKind.VertexGemini or LlmProviderKind.VertexAnthropic when (provider?.Project ?? Variable("GOOGLE_CLOUD_PROJECT")) is { } project =>
                    LlmProviderEndpoint.VertexBaseUrl(project, provider?.Location ?? Variable("GOOGLE_CLOUD_LOCATION") ?? "us-central1"),
                LlmProviderKind.Bedrock or LlmProviderKind.BedrockAnthropic when (provider?.Region ?? Variable("AWS_REGION") ?? Variable("AWS_DEFAULT_REGION")) is { } region =>
                    LlmProviderEndpoint.BedrockBaseUrl(region),
                _ => null,
            };

        var providers = new Dictionary<string, LlmProviderEndpoint>(StringComparer.OrdinalIgnoreCase);
        foreach (var preset in ProviderPresets.All.Values)
        {
            // Key-optional local servers (vllm, ollama) point at this host's own ports: a caller naming "vllm/x" must not
            // make the gateway connect there unless the operator enabled the provider (its variables, or a route,
            // group deployment or provider entry naming it).
            if (preset.Name == "openai-compatible" ||
                (preset.IsLocal && Variable(preset.BaseUrlVariable) is null && Variable(preset.KeyVariable) is null && !IsReferenced(settings, preset.Name)))
            {
                continue;
            }

            providers[preset.Name] = new LlmProviderEndpoint(
                preset.Name,
                preset,
                BaseUrl(preset, Variable(preset.BaseUrlVariable), null),
                Variable(preset.KeyVariable) ?? Variable(preset.AlternateKeyVariable),
                preset.Kind == LlmProviderKind.AzureOpenAI ? Variable("AZURE_OPENAI_API_VERSION") ?? Variable("OPENAI_API_VERSION") : null,
                FrozenDictionary<string, string>.Empty,
                InvokerFor(preset))
            {
                Authenticated = authenticated.ContainsKey(preset.Name),
            };
        }

        foreach (var (name, provider) in settings.Providers)
        {
            var preset = ProviderPresets.All[provider.Type ?? name];
            providers.TryGetValue(name, out var builtIn);
            providers[name] = new LlmProviderEndpoint(
                name,
                preset,
                BaseUrl(preset, provider.BaseUrl, provider) ?? (builtIn?.Kind == preset.Kind ? builtIn.BaseUrl : null),
                provider.ApiKey ?? (builtIn?.Kind == preset.Kind ? builtIn.ApiKey : null),
                provider.ApiVersion,
                provider.Headers.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
                InvokerFor(preset))
            {
                Authenticated = authenticated.ContainsKey(preset.Name),
            };
        }

        _providers = providers.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _models = settings.Models.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public IEnumerable<LlmProviderEndpoint> Providers => _providers.Values;

    public IEnumerable<KeyValuePair<string, LlmModelRoute>> Models => _models;

    public bool TryGetProvider(string name, out LlmProviderEndpoint provider) => _providers.TryGetValue(name, out provider!);

    /// <summary>The endpoint of a group deployment: its provider, with the deployment's own base URL or key if it has them.</summary>
    public LlmProviderEndpoint ForDeployment(string provider, string? baseUrl, string? apiKey) =>
        _providers.TryGetValue(provider, out var endpoint)
            ? endpoint.With(baseUrl, apiKey)
            : throw new InvalidOperationException($"Unknown provider '{provider}'.");

    /// <summary>Resolves an alias or a <c>provider/model</c> name; unknown names are a 404 in the caller's protocol.</summary>
    public (LlmProviderEndpoint Provider, string Model) Resolve(string requested)
    {
        if (_models.TryGetValue(requested, out var route) && _providers.TryGetValue(route.Provider, out var aliased))
        {
            return (aliased, route.Model);
        }

        var slash = requested.IndexOf('/');
        if (slash > 0 && slash < requested.Length - 1 && _providers.TryGetValue(requested[..slash], out var prefixed))
        {
            return (prefixed, requested[(slash + 1)..]);
        }

        throw new LlmGatewayException(new LlmError(
            LlmErrorKind.NotFound,
            $"The model '{requested}' does not exist. Use a configured alias or a provider-prefixed name such as 'openai/gpt-4o-mini'.")
        {
            Param = "model",
            Code = LlmErrorCodes.ModelNotFound,
        });
    }

    public void Dispose() => _handler.Dispose();

    private static bool IsReferenced(LlmGatewayOptions settings, string provider) =>
        settings.Models.Values.Any(route => string.Equals(route.Provider, provider, StringComparison.OrdinalIgnoreCase)) ||
        settings.Groups.Values.Any(group => group.Deployments.Any(d => string.Equals(d.Provider, provider, StringComparison.OrdinalIgnoreCase)));
}

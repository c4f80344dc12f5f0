using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Threading.RateLimiting;
using LlmMiddleware.Catalog;
using LlmMiddleware.Deployments;
using LlmMiddleware.Providers;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Routing;

/// <summary>Model groups and their deployments; orders a group's deployments for each request.</summary>
internal sealed class LlmRouter
{
    private readonly FrozenDictionary<string, (LlmRoutingStrategy Strategy, LlmDeployment[] Deployments, string[] Fallbacks, LlmRaceOptions Race)> _groups;
    private readonly LlmRoutingHook[] _hooks;
    private readonly Random _random;
    private readonly TimeProvider _timeProvider;
    private readonly LlmModelCatalog _catalog;

    // Deployments for models named directly in a caller's fallback list, kept so their latency and throughput are
    // learned; the names are the caller's, so only so many are kept.
    private readonly ConcurrentDictionary<(string Provider, string Model), LlmDeployment> _direct = new();
    private const int MaxDirect = 1_000;
    private static readonly LlmRaceOptions NoRace = new();

    public LlmRouter(IOptions<LlmGatewayOptions> options, LlmProviderRegistry registry, LlmModelCatalog catalog, IEnumerable<LlmRoutingHook> hooks, TimeProvider timeProvider, IEnumerable<ICooldownBroadcast> broadcasts, IEnumerable<IDeploymentLimits> sharedLimits)
        : this(options, registry, catalog, hooks, timeProvider, Random.Shared, [.. broadcasts], sharedLimits.FirstOrDefault())
    {
    }

    internal LlmRouter(IOptions<LlmGatewayOptions> options, LlmProviderRegistry registry, LlmModelCatalog catalog, IEnumerable<LlmRoutingHook> hooks, TimeProvider timeProvider, Random random, ICooldownBroadcast[]? broadcasts = null, IDeploymentLimits? sharedLimits = null)
    {
        _hooks = [.. hooks];
        _random = random;
        _timeProvider = timeProvider;
        _catalog = catalog;
        var groups = new Dictionary<string, (LlmRoutingStrategy, LlmDeployment[], string[], LlmRaceOptions)>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, group) in options.Value.Groups)
        {
            groups[name] = (group.Strategy, group.Deployments.Select(d =>
            {
                var endpoint = registry.ForDeployment(d.Provider, d.BaseUrl, d.ApiKey);
                var deployment = new LlmDeployment(d.Name ?? $"{d.Provider}/{d.Model}", name, endpoint, d.Model, d.Weight, [.. d.Tags], catalog.Find(endpoint.PresetName, d.Model) ?? catalog.Find(d.Provider, d.Model))
                {
                    MaxConcurrency = d.MaxConcurrency,
                    RequestsPerMinuteLimit = d.RequestsPerMinute,
                    SharedLimits = d.MaxConcurrency is null && d.RequestsPerMinute is null ? null : sharedLimits,
                    RequestsPerMinute = d.RequestsPerMinute is { } rpm
                        ? new FixedWindowRateLimiter(new FixedWindowRateLimiterOptions { PermitLimit = rpm, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = true })
                        : null,
                };
                deployment.Pipeline = DeploymentResilience.Build(group, deployment, timeProvider, broadcasts ?? []);
                return deployment;
            }).ToArray(), [.. group.Fallbacks], group.Race);
        }

        _groups = groups.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public bool IsGroup(string name) => _groups.ContainsKey(name);

    public IEnumerable<string> Groups => _groups.Keys;

    /// <summary>The racing plan of a group (one attempt when racing is off).</summary>
    public LlmRaceOptions RaceFor(string group) => _groups.TryGetValue(group, out var entry) ? entry.Race : NoRace;

    /// <summary>A deployment for <paramref name="model"/> at <paramref name="endpoint"/> outside any group: a model a caller
    /// named directly among its fallbacks. No retries or limits of its own, as for any directly named model.</summary>
    public LlmDeployment Direct(LlmProviderEndpoint endpoint, string model)
    {
        if (_direct.TryGetValue((endpoint.Name, model), out var known))
        {
            return known;
        }

        var deployment = new LlmDeployment($"{endpoint.Name}/{model}", $"{endpoint.Name}/{model}", endpoint, model, 1, [], _catalog.Find(endpoint.PresetName, model) ?? _catalog.Find(endpoint.Name, model));
        return _direct.Count < MaxDirect ? _direct.GetOrAdd((endpoint.Name, model), deployment) : deployment;
    }

    public IEnumerable<LlmDeployment> Deployments => _groups.Values.SelectMany(g => g.Deployments);

    /// <summary>
    /// The deployments to try for this request, best first: the group's own in its strategy's order (cooling-down ones
    /// last), then those of its fallback groups, after the routing hooks.
    /// </summary>
    public async ValueTask<List<LlmDeployment>> RouteAsync(string group, LlmRequestContext context, CancellationToken cancellationToken)
    {
        var needs = RequestNeeds.From(context.Request, context.Codec) with { At = context.StartedAt };
        context.EstimatedPromptTokens = needs.InputTokens;
        var candidates = new List<LlmDeployment>();
        var visited = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var pending = new Queue<string>();
        pending.Enqueue(group);
        while (pending.TryDequeue(out var name))
        {
            if (!visited.Add(name) || !_groups.TryGetValue(name, out var entry))
            {
                continue;
            }

            var ordered = Order(entry.Strategy, entry.Deployments, needs);
            // Deployments cooling down or at their limits go last: tried only if every other one fails.
            var now = _timeProvider.GetUtcNow();
            candidates.AddRange(ordered.Where(d => !d.IsCoolingDown(now) && !d.IsAtLimit));
            candidates.AddRange(ordered.Where(d => d.IsCoolingDown(now) || d.IsAtLimit));
            foreach (var fallback in entry.Fallbacks)
            {
                pending.Enqueue(fallback);
            }
        }

        if (_hooks.Length > 0)
        {
            var routing = new LlmRoutingContext(context, group, candidates);
            foreach (var hook in _hooks)
            {
                await hook.OnRoutingAsync(routing, cancellationToken).ConfigureAwait(false);
            }
        }

        if (candidates.Count == 0)
        {
            throw new LlmGatewayException(new LlmError(
                LlmErrorKind.InvalidRequest,
                $"No deployment of model group '{group}' can serve this request (context window, output limit or capabilities, or vetoed by policy).")
            {
                Param = "model",
                Code = LlmErrorCodes.NoDeploymentFits,
            });
        }

        return candidates;
    }

    internal List<LlmDeployment> Order(LlmRoutingStrategy strategy, LlmDeployment[] deployments, RequestNeeds needs)
    {
        Span<int> order = deployments.Length <= DeploymentSelector.StackLimit ? stackalloc int[deployments.Length] : new int[deployments.Length];
        var count = DeploymentSelector.Order(strategy, deployments, needs, order, _random);
        var candidates = new List<LlmDeployment>(count);
        foreach (var index in order[..count])
        {
            candidates.Add(deployments[index]);
        }

        return candidates;
    }
}

using System.Collections.Frozen;
using LlmMiddleware.Catalog;
using LlmMiddleware.Providers;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Routing;

/// <summary>Model groups and their deployments; orders a group's deployments for each request.</summary>
internal sealed class LlmRouter
{
    private readonly FrozenDictionary<string, (LlmRoutingStrategy Strategy, LlmDeployment[] Deployments)> _groups;
    private readonly ILlmRoutingHook[] _hooks;
    private readonly Random _random;

    public LlmRouter(IOptions<LlmGatewayOptions> options, LlmProviderRegistry registry, LlmModelCatalog catalog, IEnumerable<ILlmRoutingHook> hooks)
        : this(options, registry, catalog, hooks, Random.Shared)
    {
    }

    internal LlmRouter(IOptions<LlmGatewayOptions> options, LlmProviderRegistry registry, LlmModelCatalog catalog, IEnumerable<ILlmRoutingHook> hooks, Random random)
    {
        _hooks = [.. hooks];
        _random = random;
        var groups = new Dictionary<string, (LlmRoutingStrategy, LlmDeployment[])>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, group) in options.Value.Groups)
        {
            groups[name] = (group.Strategy, group.Deployments.Select(d =>
            {
                var endpoint = registry.ForDeployment(d.Provider, d.BaseUrl, d.ApiKey);
                return new LlmDeployment(d.Name ?? $"{d.Provider}/{d.Model}", name, endpoint, d.Model, d.Weight, [.. d.Tags], catalog.Find(endpoint.PresetName, d.Model) ?? catalog.Find(d.Provider, d.Model));
            }).ToArray());
        }

        _groups = groups.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public bool IsGroup(string name) => _groups.ContainsKey(name);

    public IEnumerable<string> Groups => _groups.Keys;

    public IEnumerable<LlmDeployment> Deployments => _groups.Values.SelectMany(g => g.Deployments);

    /// <summary>The group's deployments for this request, best first, after the routing hooks.</summary>
    public async ValueTask<List<LlmDeployment>> RouteAsync(string group, LlmRequestContext context, CancellationToken cancellationToken)
    {
        var (strategy, deployments) = _groups[group];
        var candidates = Order(strategy, deployments, RequestNeeds.From(context.Request));
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
                Code = "no_deployment_fits",
            });
        }

        return candidates;
    }

    internal List<LlmDeployment> Order(LlmRoutingStrategy strategy, LlmDeployment[] deployments, in RequestNeeds needs)
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

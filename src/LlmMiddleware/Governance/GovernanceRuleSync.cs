using System.Diagnostics.Metrics;
using LlmMiddleware.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LlmMiddleware.Governance;

/// <summary>
/// Keeps this instance's budgets and rate limits those of the shared rule store, when there is one: seeds it from
/// configuration if it never was, puts its rules in force before calls are served, and follows every change.
/// </summary>
internal sealed class GovernanceRuleSync(IServiceProvider services, TimeProvider time, IMeterFactory meters, ILogger<GovernanceRuleSync> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly Counter<long> _received = meters.Create(LlmGatewayTelemetry.Name).CreateCounter<long>("llm_gateway.governance.rules.received", "{change}", "Budget and rate-limit snapshots taken in from the shared rule store after start-up: a change made on any instance.");
    private Task _following = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (services.GetService<ILlmGovernanceRuleStore>() is not { } store)
        {
            return;
        }

        var budgets = services.GetService<LlmBudgets>();
        var limits = services.GetService<LlmRateLimits>();
        var configured = new LlmGovernanceRules(
            [.. services.GetService<IOptions<LlmBudgetOptions>>()?.Value.Rules ?? []],
            [.. services.GetService<IOptions<LlmRateLimitOptions>>()?.Value.Rules ?? []]);
        await store.SeedAsync(configured, cancellationToken).ConfigureAwait(false);
        void Apply(LlmGovernanceRules rules)
        {
            budgets?.Book.Replace(rules.Budgets);
            limits?.Book.Replace(rules.RateLimits);
        }

        var feed = await StoreFeed.FirstAsync(store.WatchAsync, Apply, _stopping.Token).ConfigureAwait(false);
        _following = StoreFeed.FollowAsync(feed, store.WatchAsync, rules => { Apply(rules); _received.Add(1); }, "governance rule store", time, logger, _stopping.Token);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _following.WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}

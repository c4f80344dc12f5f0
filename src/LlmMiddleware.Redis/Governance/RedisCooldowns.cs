using System.Diagnostics.Metrics;
using System.Globalization;
using LlmMiddleware.Deployments;
using LlmMiddleware.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace LlmMiddleware.Redis;

/// <summary>
/// Deployment cooldowns shared through Redis: when a deployment's circuit opens (or closes) on one instance, the others
/// hear of it over pub/sub and skip it (or stop skipping it) too; the cooldown is also kept under a key that expires
/// with it, which an instance starting later reads.
/// </summary>
internal sealed class RedisCooldowns(RedisGovernance store, IServiceProvider services, TimeProvider time, IMeterFactory meters) : ICooldownBroadcast, IHostedService
{
    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    private readonly Counter<long> _received = meters.Create("LlmMiddleware").CreateCounter<long>("llm_gateway.deployment.cooldowns.received", "{change}", "Deployment cooldowns started or ended on other instances, heard through the governance store (Redis).");

    private RedisChannel Channel => RedisChannel.Literal(store.Key("cooldowns").ToString());

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.SubscribeAsync(Channel, (_, message) => Receive(message)).ConfigureAwait(false);
            foreach (var deployment in Router.Deployments)
            {
                if (await store.GetAsync(Key(deployment)).ConfigureAwait(false) is { HasValue: true } until)
                {
                    Apply(deployment, (long)until);
                }
            }
        }
        catch (Exception ex) when (RedisGovernance.IsUnreachable(ex))
        {
            store.CooldownNotShared(ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Changed(LlmDeployment deployment) => _ = PublishAsync(deployment, deployment.CoolingUntil);

    private LlmRouter Router => services.GetRequiredService<LlmRouter>();

    private async Task PublishAsync(LlmDeployment deployment, DateTimeOffset? until)
    {
        try
        {
            var remaining = until - time.GetUtcNow();
            await store.SetAsync(Key(deployment), until?.UtcTicks ?? 0, remaining > TimeSpan.Zero ? remaining : null).ConfigureAwait(false);
            await store.PublishAsync(Channel, string.Join('\n', _instance, deployment.Group, deployment.Name, (until?.UtcTicks ?? 0).ToString(CultureInfo.InvariantCulture))).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisGovernance.IsUnreachable(ex))
        {
            store.CooldownNotShared(ex);
        }
    }

    private void Receive(RedisValue message)
    {
        var parts = message.ToString().Split('\n');
        if (parts.Length != 4 || parts[0] == _instance || !long.TryParse(parts[3], CultureInfo.InvariantCulture, out var ticks))
        {
            return;
        }

        if (Router.Deployments.FirstOrDefault(d => d.Group == parts[1] && d.Name == parts[2]) is { } deployment)
        {
            Apply(deployment, ticks);
            _received.Add(1);
        }
    }

    private static void Apply(LlmDeployment deployment, long ticks) =>
        deployment.CoolingUntil = ticks > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    private RedisKey Key(LlmDeployment deployment) => store.Key($"cool:{deployment.Group}/{deployment.Name}");
}

using System.Globalization;
using LlmMiddleware.Deployments;
using StackExchange.Redis;

namespace LlmMiddleware.Redis;

/// <summary>
/// Deployments' <c>MaxConcurrency</c> and <c>RequestsPerMinute</c> counted in Redis, so they hold across instances:
/// the same script as the rate limits (a slot per call with a deadline, clock-minute windows). While Redis is
/// unreachable, failing open counts on this instance alone; failing closed treats the deployment as at its limit, so
/// the call goes to the group's other deployments.
/// </summary>
internal sealed class RedisDeploymentLimits(RedisGovernance store, TimeProvider time) : IDeploymentLimits
{
    private static readonly object Local = new();
    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    private long _leases;

    public async ValueTask<object?> TryEnterAsync(LlmDeployment deployment)
    {
        var now = time.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var name = $"{deployment.Group}/{deployment.Name}";
        var lease = _instance + ":" + Interlocked.Increment(ref _leases).ToString(CultureInfo.InvariantCulture);
        var keys = new List<RedisKey>(2);
        var values = new List<RedisValue> { nowMs, lease, (now + store.Options.HoldTimeout).ToUnixTimeMilliseconds(), 120 };
        RedisKey? slots = null;
        if (deployment.MaxConcurrency is { } max)
        {
            slots = store.Key("dc:" + name);
            keys.Add(slots.Value);
            values.AddRange(["c", 1, max]);
        }

        if (deployment.RequestsPerMinuteLimit is { } rpm)
        {
            keys.Add(store.Key($"dw:{nowMs / 60_000}:{name}"));
            values.AddRange(["w", 1, rpm]);
        }

        try
        {
            var result = (RedisResult[])(await store.EvaluateAsync(GovernanceScripts.TakeScript, [.. keys], [.. values]).ConfigureAwait(false))!;
            return (int)result[0] > 0 ? null : new Lease(lease, slots);
        }
        catch (Exception ex) when (RedisGovernance.IsUnreachable(ex))
        {
            store.NoteUnreachable(ex);
            return store.FailsOpen && deployment.TryEnter() ? Local : null;
        }
    }

    public void Leave(LlmDeployment deployment, object lease)
    {
        if (ReferenceEquals(lease, Local))
        {
            deployment.Leave();
        }
        else if (lease is Lease { Slots: { } slots } held)
        {
            _ = GiveBackAsync(slots, held.Id);
        }
    }

    private async Task GiveBackAsync(RedisKey slots, string lease)
    {
        try
        {
            await store.EvaluateAsync(GovernanceScripts.GiveBackScript, [slots], [lease, "c", 0]).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisGovernance.IsUnreachable(ex))
        {
            store.SettlementLost(ex);
        }
    }

    private sealed record Lease(string Id, RedisKey? Slots);
}

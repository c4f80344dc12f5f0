using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware.Redis;

/// <summary>What budgets and rate limits do while Redis is unreachable.</summary>
public enum RedisGovernanceFailureMode
{
    /// <summary>Refuse calls with a 503 <c>governance_unavailable</c>: no call goes unchecked.</summary>
    FailClosed,

    /// <summary>Check calls against this instance's own counters, each budget and limit divided by
    /// <see cref="RedisGovernanceOptions.Replicas"/>, until Redis is back.</summary>
    FailOpen,
}

/// <summary>Settings of budgets and rate limits counted in Redis, bound to <c>LlmGateway:GovernanceStore</c>.</summary>
public sealed class RedisGovernanceOptions
{
    /// <summary>The StackExchange.Redis configuration string, for example <c>redis-host:6379,password=...</c>.</summary>
    [Required]
    public string ConnectionString { get; set; } = "";

    /// <summary>Prefix of every key, so one Redis can serve several gateways. Default <c>llm:</c>.</summary>
    public string KeyPrefix { get; set; } = "llm:";

    /// <summary>What happens while Redis is unreachable; <see cref="RedisGovernanceFailureMode.FailClosed"/> unless chosen.</summary>
    public RedisGovernanceFailureMode FailureMode { get; set; } = RedisGovernanceFailureMode.FailClosed;

    /// <summary>How many gateway instances share the budgets and limits: failing open, each instance allows this
    /// share of every budget and limit on its own. Default 1.</summary>
    [Range(1, 10_000)]
    public int Replicas { get; set; } = 1;

    /// <summary>How long a call's budget hold and concurrency slot last if the instance holding them never settles
    /// (it crashed): then they lapse. Longer than any call. Default 15 minutes.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan HoldTimeout { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The fraction of a requests- or tokens-per-minute limit each instance takes from Redis at a time and spends
    /// locally: a call counted only in such windows (no concurrency limit, no budget) then makes no round trip while this
    /// instance's slice lasts. A limit is still never exceeded — a slice is counted in Redis when it is taken — but
    /// what is left of a slice when its minute ends goes unused: up to this fraction of the limit per instance a minute
    /// (with 3 instances and 0.01, a 60,000-a-minute limit may admit as few as 58,200), plus, for tokens, what calls
    /// finishing under their estimate handed back to the slice. 0, the default: every call counted in Redis, exact.
    /// Limits whose slice would be under 2 are never sliced.
    /// </summary>
    [Range(0d, 0.1d)]
    public double WindowLease { get; set; }
}

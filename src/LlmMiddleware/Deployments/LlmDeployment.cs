using System.Threading.RateLimiting;
using LlmMiddleware.Deployments;
using LlmMiddleware.Providers;
using Polly;
using Polly.CircuitBreaker;

namespace LlmMiddleware;

/// <summary>A deployment of a model group as the router sees it: its route, catalog facts and live statistics.</summary>
public sealed class LlmDeployment
{
    /// <summary>Smoothing factor of the latency moving averages: the weight of the newest sample.</summary>
    private const double Smoothing = 0.2;

    private int _inFlight;
    private double _ttftMs = double.NaN;
    private double _durationMs = double.NaN;
    private double _tokensPerSecond = double.NaN;
    private long _coolingUntilUtcTicks; // 0 = not cooling; one word, so a reader never sees half of a write

    internal LlmDeployment(string name, string group, LlmProviderEndpoint endpoint, string model, double weight, IReadOnlyList<string> tags, LlmModelInfo? info)
    {
        Name = name;
        Group = group;
        Endpoint = endpoint;
        Model = model;
        Weight = weight;
        Tags = tags;
        Info = info;
        Capabilities = info is null || info.Capabilities.Count == 0 ? (LlmModelCapabilities)~0 : info.CapabilityFlags;
    }

    /// <summary>The deployment's name.</summary>
    public string Name { get; }

    /// <summary>The group it belongs to.</summary>
    public string Group { get; }

    /// <summary>The provider name.</summary>
    public string Provider => Endpoint.Name;

    /// <summary>The upstream model.</summary>
    public string Model { get; }

    /// <summary>Its weight for weighted-random routing.</summary>
    public double Weight { get; }

    /// <summary>Its tags.</summary>
    public IReadOnlyList<string> Tags { get; }

    /// <summary>Catalog facts, or <see langword="null"/> when the catalog does not know the model (it then fits everything).</summary>
    public LlmModelInfo? Info { get; }

    /// <summary>Requests currently in flight.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Moving average of the time to first token, or <see langword="null"/> before the first sample.</summary>
    public TimeSpan? AverageTimeToFirstToken => double.IsNaN(_ttftMs) ? null : TimeSpan.FromMilliseconds(_ttftMs);

    /// <summary>Moving average of the total response time, or <see langword="null"/> before the first sample.</summary>
    public TimeSpan? AverageDuration => double.IsNaN(_durationMs) ? null : TimeSpan.FromMilliseconds(_durationMs);

    /// <summary>Until when the deployment is cooling down after repeated failures, or <see langword="null"/>. Once the time
    /// has passed, the next call to it is a probe: success ends the cooldown, failure starts another.</summary>
    public DateTimeOffset? CoolingUntil
    {
        get => Volatile.Read(ref _coolingUntilUtcTicks) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
        internal set => Volatile.Write(ref _coolingUntilUtcTicks, value?.UtcTicks ?? 0);
    }

    /// <summary>Whether the deployment is cooling down at <paramref name="now"/> (tried only after every other candidate).</summary>
    public bool IsCoolingDown(DateTimeOffset now) => Circuit.CircuitState == CircuitState.Isolated || CoolingUntil > now;

    internal LlmProviderEndpoint Endpoint { get; }

    internal CircuitBreakerStateProvider Circuit { get; } = new();

    /// <summary>Retries and cooldown for calls to this deployment; set by the router.</summary>
    internal ResiliencePipeline<HttpResponseMessage> Pipeline { get; set; } = ResiliencePipeline<HttpResponseMessage>.Empty;

    internal LlmModelCapabilities Capabilities { get; }

    /// <summary>Sort key for throughput, best first: unmeasured deployments before any measured one, so each gets measured.</summary>
    internal double ThroughputKey => double.IsNaN(_tokensPerSecond) ? double.NegativeInfinity : -_tokensPerSecond;

    internal double LatencyKeyMs(bool stream)
    {
        var value = stream ? _ttftMs : _durationMs;

        // No sample yet: try it, so every deployment gets measured.
        return double.IsNaN(value) ? 0 : value;
    }

    /// <summary>The 95th percentile of the recent times to first token, or <see langword="null"/> before the first sample.</summary>
    public TimeSpan? TimeToFirstTokenP95
    {
        get
        {
            var count = (int)Math.Min((uint)Volatile.Read(ref _samples), (uint)_ttftWindow.Length); // the count wraps past int.MaxValue
            if (count == 0)
            {
                return null;
            }

            Span<double> sorted = stackalloc double[count];
            _ttftWindow.AsSpan(0, count).CopyTo(sorted);
            sorted.Sort();
            return TimeSpan.FromMilliseconds(sorted[(int)Math.Ceiling(0.95 * count) - 1]);
        }
    }

    /// <summary>The latest 64 times to first token (ms), as a ring.</summary>
    private readonly double[] _ttftWindow = new double[64];
    private int _samples;

    /// <summary>Most requests at once from this instance, if limited.</summary>
    public int? MaxConcurrency { get; internal init; }

    internal RateLimiter? RequestsPerMinute { get; init; }

    /// <summary>Whether the deployment has reached one of its limits right now (it is then tried after the others).</summary>
    public bool IsAtLimit => InFlight >= (MaxConcurrency ?? int.MaxValue) || RequestsPerMinute?.GetStatistics()?.CurrentAvailablePermits == 0;

    /// <summary>Takes a slot under the deployment's limits; <see langword="false"/> when a limit is reached.</summary>
    internal bool TryEnter()
    {
        if (Interlocked.Increment(ref _inFlight) > (MaxConcurrency ?? int.MaxValue))
        {
            Interlocked.Decrement(ref _inFlight);
            return false;
        }

        if (RequestsPerMinute is { } limiter)
        {
            using var lease = limiter.AttemptAcquire();
            if (!lease.IsAcquired)
            {
                Interlocked.Decrement(ref _inFlight);
                return false;
            }
        }

        return true;
    }

    internal void Leave() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Calls per minute allowed, as configured (shared limits count it in their store).</summary>
    internal int? RequestsPerMinuteLimit { get; init; }

    /// <summary>Where the limits are counted across instances, when they are (set by the router).</summary>
    internal IDeploymentLimits? SharedLimits { get; set; }

    private static readonly object Entered = new();

    /// <summary>A lease on the deployment within its limits — counted across instances when they share a store — or
    /// <see langword="null"/> when it is at one. Give it back with <see cref="Leave(object)"/>.</summary>
    internal ValueTask<object?> TryEnterAsync() =>
        SharedLimits is { } shared ? shared.TryEnterAsync(this) : new(TryEnter() ? Entered : null);

    internal void Leave(object lease)
    {
        if (ReferenceEquals(lease, Entered))
        {
            Leave();
        }
        else
        {
            SharedLimits?.Leave(this, lease);
        }
    }

    /// <summary>Folds a successful call's timings into the moving averages; concurrent calls each count (no update is
    /// lost to another).</summary>
    internal void Record(TimeSpan? timeToFirstToken, TimeSpan? duration, long outputTokens = 0)
    {
        // Throughput over the generation alone (after the first token, when there is one), as callers sorting by it mean.
        if (duration is { } elapsed && outputTokens > 0 && (elapsed - (timeToFirstToken ?? TimeSpan.Zero)).TotalSeconds is > 0 and var seconds)
        {
            Fold(ref _tokensPerSecond, outputTokens / seconds);
        }

        if (timeToFirstToken is { } ttft)
        {
            Fold(ref _ttftMs, ttft.TotalMilliseconds);
            _ttftWindow[(int)((uint)(Interlocked.Increment(ref _samples) - 1) % (uint)_ttftWindow.Length)] = ttft.TotalMilliseconds;
        }

        if (duration is { } total)
        {
            Fold(ref _durationMs, total.TotalMilliseconds);
        }
    }

    private static void Fold(ref double average, double sample)
    {
        double seen, folded;
        do
        {
            seen = Volatile.Read(ref average);
            folded = double.IsNaN(seen) ? sample : seen + (Smoothing * (sample - seen));
        }
        while (Interlocked.CompareExchange(ref average, folded, seen).CompareTo(seen) != 0);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

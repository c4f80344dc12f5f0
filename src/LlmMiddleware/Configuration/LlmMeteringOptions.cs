using System.ComponentModel.DataAnnotations;

namespace LlmMiddleware;

/// <summary>What to do with a call to a model the price catalog does not know.</summary>
public enum LlmUnpricedModelPolicy
{
    /// <summary>Make the call and flag its record as unpriced (its cost is unknown, never reported as zero).</summary>
    Flag,

    /// <summary>Refuse the call with a 400 (<c>model_not_priced</c>) before it reaches the provider.</summary>
    Block,
}

/// <summary>Cost metering settings, bound to <c>LlmGateway:Metering</c>.</summary>
public sealed class LlmMeteringOptions
{
    /// <summary>Calls to models without a price. Default <see cref="LlmUnpricedModelPolicy.Flag"/>.</summary>
    public LlmUnpricedModelPolicy UnpricedModels { get; set; } = LlmUnpricedModelPolicy.Flag;

    /// <summary>Return cost and token headers (<c>x-llm-cost-usd</c>, ...) on non-streamed responses, and as trailers on
    /// streams where the connection supports trailers (HTTP/2 and later). Default <see langword="true"/>.</summary>
    public bool EmitCostHeaders { get; set; } = true;

    /// <summary>
    /// Longest time a record waits in memory before it is handed to the sinks. This bounds what an abrupt kill of the
    /// process can lose; a graceful stop flushes everything. Default 1 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most records per sink write. Default 500.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 500;

    /// <summary>
    /// Most records held while sinks are failing. Beyond it the oldest are dropped, logged and counted on
    /// <c>llm_gateway.metering.dropped</c>; the in-memory totals keep them. Default 1,000,000.
    /// </summary>
    [Range(1_000, int.MaxValue)]
    public int MaxPendingRecords { get; set; } = 1_000_000;
}

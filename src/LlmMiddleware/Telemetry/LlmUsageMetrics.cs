using System.Diagnostics;
using System.Diagnostics.Metrics;
using LlmMiddleware.Metering;

namespace LlmMiddleware.Telemetry;

/// <summary>
/// Metrics of metered calls, from their <see cref="LlmCallRecord"/>s (race losers and cache hits included): cost, tokens
/// by type, cache outcomes and the spend cache hits saved. On the <c>LlmMiddleware</c> meter, beside
/// <see cref="LlmGatewayTelemetry"/>'s call and routing metrics.
/// </summary>
internal sealed class LlmUsageMetrics
{
    private readonly Counter<double> _cost;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _cacheRequests;
    private readonly Counter<double> _savedCost;
    private readonly Counter<long> _droppedRecords;
    private readonly Counter<long> _writtenRecords;
    private readonly Counter<long> _storeWrites;
    private readonly Counter<long> _semanticReceived;

    public LlmUsageMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(LlmGatewayTelemetry.Name);
        _cost = meter.CreateCounter<double>("llm_gateway.cost", "USD", "Cost of metered LLM calls, race losers included, at catalog prices.");
        _tokens = meter.CreateCounter<long>("llm_gateway.tokens", "{token}", "Metered tokens by type: input (all prompt tokens), cached_input, cache_write_input, output (all generated tokens), reasoning.");
        _cacheRequests = meter.CreateCounter<long>("llm_gateway.cache.requests", "{request}", "Calls under a response-cache policy, by outcome: hit_exact, hit_semantic, miss, bypass.");
        _savedCost = meter.CreateCounter<double>("llm_gateway.cache.saved_cost", "USD", "What the calls that cache hits answered had cost, at their price versions.");
        _writtenRecords = meter.CreateCounter<long>("llm_gateway.metering.written", "{record}", "Call records a sink has stored, by llm_gateway.sink (the sink's type name).");
        _storeWrites = meter.CreateCounter<long>("llm_gateway.cache.store.writes", "{entry}", "Entries written to the shared cache store (HybridCache's second level for exact entries; the semantic store), by llm_gateway.cache.kind (exact, semantic) and outcome (stored, failed).");
        _semanticReceived = meter.CreateCounter<long>("llm_gateway.cache.semantic.received", "{entry}", "Semantic entries this instance took in from the shared store: other instances' answers, loaded at start or announced.");
        _droppedRecords = meter.CreateCounter<long>("llm_gateway.metering.dropped", "{record}", "Call records a sink did not get, by llm_gateway.drop.reason: queue_full, stopped, abandoned (shutdown ran out of time) or rejected (quarantined: the sink can never store it).");
    }

    /// <summary>Adds a metered record (unpriced records are counted with <c>llm_gateway.unpriced</c> = true and no cost).</summary>
    public void Record(LlmCallRecord record)
    {
        var tags = new TagList
        {
            { "gen_ai.operation.name", record.Operation },
            { "gen_ai.provider.name", record.Provider },
            { "gen_ai.response.model", record.Status == LlmCallStatus.Succeeded || record.StatusCode is { } status && status is not (400 or 404) ? record.Model : LlmGatewayTelemetry.OtherModel },
            { "llm_gateway.role", record.Role.ToString() },
        };
        if (_cost.Enabled && (record.Cost is not (null or 0m) || record.Unpriced))
        {
            var costTags = tags;
            costTags.Add("llm_gateway.unpriced", record.Unpriced);
            _cost.Add((double)(record.Cost ?? 0m), costTags);
        }

        if (_tokens.Enabled && record.Cache is not (LlmCacheOutcome.HitExact or LlmCacheOutcome.HitSemantic))
        {
            AddTokens(tags, "input", record.InputTokens);
            AddTokens(tags, "cached_input", record.CachedInputTokens);
            AddTokens(tags, "cache_write_input", record.CacheWriteInputTokens);
            AddTokens(tags, "output", record.OutputTokens);
            AddTokens(tags, "reasoning", record.ReasoningTokens);
        }

        if (_cacheRequests.Enabled && record.Cache != LlmCacheOutcome.None && record.Role != LlmCallRole.RaceLoser)
        {
            _cacheRequests.Add(1, new TagList
            {
                { "gen_ai.operation.name", record.Operation },
                { "llm_gateway.cache.outcome", record.Cache switch { LlmCacheOutcome.HitExact => "hit_exact", LlmCacheOutcome.HitSemantic => "hit_semantic", LlmCacheOutcome.Miss => "miss", _ => "bypass" } },
            });
        }

        if (_savedCost.Enabled && record.SavedCost is { } saved && saved > 0m)
        {
            _savedCost.Add((double)saved, tags);
        }
    }

    public void RecordWrittenRecords(int count, string sink) => _writtenRecords.Add(count, new KeyValuePair<string, object?>("llm_gateway.sink", sink));

    /// <summary>An entry written to the shared cache store, or not (<paramref name="stored"/>).</summary>
    public void RecordStoreWrite(string kind, bool stored) =>
        _storeWrites.Add(1, new KeyValuePair<string, object?>("llm_gateway.cache.kind", kind), new KeyValuePair<string, object?>("outcome", stored ? "stored" : "failed"));

    public void RecordSemanticReceived() => _semanticReceived.Add(1);

    public void RecordDroppedRecords(int count, string reason) => _droppedRecords.Add(count, new KeyValuePair<string, object?>("llm_gateway.drop.reason", reason));

    private void AddTokens(TagList tags, string type, long count)
    {
        if (count > 0)
        {
            tags.Add("llm_gateway.token.type", type);
            _tokens.Add(count, tags);
        }
    }
}

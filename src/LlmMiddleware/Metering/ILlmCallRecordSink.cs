namespace LlmMiddleware;

/// <summary>
/// A destination for call records (a ledger, a billing export). Records reach sinks in batches, off the request path:
/// a slow or failing sink never delays a response. A batch that throws is retried (with the same record ids, so a sink
/// that stores them idempotently never double-counts) until it succeeds or the gateway stops.
/// </summary>
public interface ILlmCallRecordSink
{
    /// <summary>Stores a batch of records.</summary>
    ValueTask WriteAsync(IReadOnlyList<LlmCallRecord> records, CancellationToken cancellationToken);
}

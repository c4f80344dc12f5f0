namespace LlmMiddleware;

/// <summary>
/// A destination for call records (a ledger, a billing export). Records reach sinks in batches, off the request path,
/// each sink on its own: a slow or failing sink never delays a response or another sink. A batch that throws is retried
/// (with the same record ids, so a sink that stores them idempotently never double-counts) until it succeeds or the
/// gateway stops — unless it throws <see cref="LlmCallRecordRejectedException"/>: then the batch is split until the
/// records the sink can never store are found, and those alone are quarantined (logged in full and counted).
/// </summary>
public interface ILlmCallRecordSink
{
    /// <summary>Stores a batch of records.</summary>
    ValueTask WriteAsync(IReadOnlyList<LlmCallRecord> records, CancellationToken cancellationToken);
}

/// <summary>
/// Thrown by an <see cref="ILlmCallRecordSink"/> when a batch holds data it can never store (a value out of a column's
/// range, a constraint it breaks), as opposed to a failure worth retrying (a connection lost, a timeout).
/// </summary>
public sealed class LlmCallRecordRejectedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LlmCallRecordRejectedException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

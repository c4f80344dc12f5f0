namespace LlmMiddleware;

/// <summary>How a metered call ended.</summary>
public enum LlmCallStatus
{
    /// <summary>The response was delivered completely.</summary>
    Succeeded,

    /// <summary>The provider or the gateway answered with an error before any content.</summary>
    Failed,

    /// <summary>The stream broke or timed out after content had been delivered.</summary>
    StreamBroken,

    /// <summary>The caller went away before the response was complete.</summary>
    ClientDisconnected,

    /// <summary>A race leg that lost and was cancelled.</summary>
    Cancelled,

    /// <summary>Refused by the gateway before reaching a provider (for example an unpriced model under the block policy).</summary>
    Blocked,
}

/// <summary>The part a metered upstream attempt played in its call.</summary>
public enum LlmCallRole
{
    /// <summary>The call's only, or final, attempt.</summary>
    Primary,

    /// <summary>The leg of a race whose response was relayed.</summary>
    RaceWinner,

    /// <summary>A race leg that lost; billed for what it consumed, so it gets its own record.</summary>
    RaceLoser,

    /// <summary>The experiment judge's call scoring an answer (its record names the experiment and the arm it judged).</summary>
    Judge,
}

/// <summary>Where a record's token counts come from.</summary>
public enum LlmTokenSource
{
    /// <summary>All counts were reported by the provider.</summary>
    Provider,

    /// <summary>The provider reported nothing usable; the gateway counted the request and what was delivered.</summary>
    Counted,

    /// <summary>The provider reported some counts (usually the prompt) and the gateway counted the rest (usually the
    /// output of a cut stream).</summary>
    Mixed,
}

/// <summary>Who made a call, for spend attribution. Set by hooks or middleware; see <see cref="LlmRequestContext.Caller"/>.</summary>
public sealed record LlmCallerIdentity
{
    /// <summary>The API key the caller presented, as a non-reversible fingerprint (never the key itself), or a virtual key id.</summary>
    public string? Key { get; init; }

    /// <summary>The caller's team.</summary>
    public string? Team { get; init; }

    /// <summary>The calling application.</summary>
    public string? App { get; init; }

    /// <summary>The end user, when known (by default from the request's <c>user</c> / <c>metadata.user_id</c>).</summary>
    public string? User { get; init; }

    /// <summary>Free-form tags.</summary>
    public IReadOnlyDictionary<string, string>? Tags { get; init; }
}

/// <summary>
/// One metered upstream attempt: who, what, how many tokens, what it cost and at which price version. A call makes
/// one record, plus one per race loser. Written to the in-memory spend aggregator, the registered
/// <see cref="ILlmCallRecordSink"/>s (such as the PostgreSQL ledger) and the cost metrics.
/// </summary>
public sealed record LlmCallRecord
{
    /// <summary>Creates an empty record.</summary>
    public LlmCallRecord()
    {
    }

    /// <summary>A record of the call <paramref name="origin"/> describes.</summary>
    internal LlmCallRecord(in LlmCallOrigin origin)
    {
        Id = origin.Id;
        RequestId = origin.RequestId;
        Timestamp = origin.Timestamp;
        Caller = origin.Caller;
        Operation = origin.Operation;
        RequestedModel = origin.RequestedModel;
        Stream = origin.Stream;
        (Experiment, Arm, Task) = (origin.Experiment?.Experiment, origin.Experiment?.Arm, origin.Task);
    }

    /// <summary>Unique id of this record (a version-7 GUID, so ids sort by time).</summary>
    public Guid Id { get; init; }

    /// <summary>The gateway request id (<c>HttpContext.TraceIdentifier</c>); shared by a call's records.</summary>
    public string RequestId { get; init; } = "";

    /// <summary>When the call started.</summary>
    public DateTimeOffset Timestamp { get; init; }

    /// <summary>Who made the call.</summary>
    public LlmCallerIdentity Caller { get; init; } = new();

    /// <summary>GenAI operation name (<c>chat</c>, <c>embeddings</c>).</summary>
    public string Operation { get; init; } = "";

    /// <summary>The model the caller asked for (an alias, a group or <c>provider/model</c>).</summary>
    public string RequestedModel { get; init; } = "";

    /// <summary>The provider called, when one was resolved.</summary>
    public string? Provider { get; init; }

    /// <summary>The model-group deployment, when the model is a group.</summary>
    public string? Deployment { get; init; }

    /// <summary>The upstream model.</summary>
    public string? Model { get; init; }

    /// <summary>Whether the response was streamed.</summary>
    public bool Stream { get; init; }

    /// <summary>All prompt tokens, cached and cache-written included.</summary>
    public long InputTokens { get; init; }

    /// <summary>Prompt tokens read from the provider's cache.</summary>
    public long CachedInputTokens { get; init; }

    /// <summary>Prompt tokens written to the provider's cache.</summary>
    public long CacheWriteInputTokens { get; init; }

    /// <summary>All generated tokens, reasoning included.</summary>
    public long OutputTokens { get; init; }

    /// <summary>Generated tokens spent on reasoning.</summary>
    public long ReasoningTokens { get; init; }

    /// <summary>Input images, for per-image prices.</summary>
    public int Images { get; init; }

    /// <summary>Where the token counts come from.</summary>
    public LlmTokenSource TokenSource { get; init; }

    /// <summary>The tokenizer that counted what the provider did not report (for example <c>tiktoken:o200k_base</c>, or
    /// the name given to <c>AddTokenizer</c>); <see langword="null"/> when every count is the provider's.</summary>
    public string? Tokenizer { get; init; }

    /// <summary>Cost in USD; <see langword="null"/> when the model has no price (then <see cref="Unpriced"/> is set).</summary>
    public decimal? Cost { get; init; }

    /// <summary>The version of the price used (<see cref="LlmModelPricing.Version"/>).</summary>
    public string? PriceVersion { get; init; }

    /// <summary>The model has no price in the catalog: the cost is unknown, not zero.</summary>
    public bool Unpriced { get; init; }

    /// <summary>How the call ended.</summary>
    public LlmCallStatus Status { get; init; }

    /// <summary>The HTTP status returned to the caller or by the provider, when known.</summary>
    public int? StatusCode { get; init; }

    /// <summary>The error code, when the call failed.</summary>
    public string? ErrorCode { get; init; }

    /// <summary>The part this attempt played.</summary>
    public LlmCallRole Role { get; init; }

    /// <summary>Time from receipt to the first content sent to the caller.</summary>
    public TimeSpan? TimeToFirstToken { get; init; }

    /// <summary>Time from receipt to the end of the response.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>How the response cache took part. A hit reached no provider: its <see cref="Cost"/> is 0, its tokens are
    /// those of the replayed answer, and <see cref="Provider"/> and <see cref="Model"/> are the original call's.</summary>
    public LlmCacheOutcome Cache { get; init; }

    /// <summary>For a cache hit, what the original call cost (at <see cref="PriceVersion"/>, its price version): the
    /// spend the hit saved. <see langword="null"/> otherwise, or when the original model was unpriced.</summary>
    public decimal? SavedCost { get; init; }

    /// <summary>How many times the call was resent to a deployment after a transient failure (the group's retries).</summary>
    public int Retries { get; init; }

    /// <summary>How many times the call was handed over from a failed deployment to the next candidate.</summary>
    public int Fallbacks { get; init; }

    /// <summary>The experiment the call was part of, if any.</summary>
    public string? Experiment { get; init; }

    /// <summary>The experiment's arm that served the call.</summary>
    public string? Arm { get; init; }

    /// <summary>The task the call performed (see <see cref="LlmRequestContext.Task"/>), if labelled.</summary>
    public string? Task { get; init; }
}

/// <summary>What every record of one call shares: its ids, start time, caller, operation, requested model, experiment and task.</summary>
internal readonly record struct LlmCallOrigin(Guid Id, string RequestId, DateTimeOffset Timestamp, LlmCallerIdentity Caller, string Operation, string RequestedModel, bool Stream, LlmExperimentAssignment? Experiment, string? Task);

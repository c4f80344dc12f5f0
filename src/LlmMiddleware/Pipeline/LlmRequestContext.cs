using LlmMiddleware.Pipeline;
using Microsoft.AspNetCore.Http;

namespace LlmMiddleware;

/// <summary>
/// Everything the gateway knows about one LLM call: the parsed request, the route it took, the usage it
/// consumed and when things happened. Reach it with <c>HttpContext.GetLlmContext()</c> from hooks, middleware
/// and endpoint filters.
/// </summary>
public sealed class LlmRequestContext
{
    private readonly TimeProvider _timeProvider;
    private long _firstTokenTimestamp;
    private long _endTimestamp;

    internal LlmRequestContext(HttpContext httpContext, LlmProtocol inboundProtocol, string operationName, TimeProvider timeProvider)
    {
        HttpContext = httpContext;
        InboundProtocol = inboundProtocol;
        Codec = Protocols.LlmCodec.For(inboundProtocol);
        OperationName = operationName;
        _timeProvider = timeProvider;
        StartTimestamp = timeProvider.GetTimestamp();
        StartedAt = timeProvider.GetUtcNow();
    }

    /// <summary>The HTTP exchange with the caller.</summary>
    public HttpContext HttpContext { get; }

    /// <summary>The protocol the caller speaks.</summary>
    public LlmProtocol InboundProtocol { get; }

    /// <summary>The caller's protocol, to read its request and write its answer.</summary>
    internal Protocols.LlmCodec Codec { get; }

    /// <summary>What the call does, as a GenAI semantic-convention operation name: <see cref="LlmOperationNames.Chat"/>
    /// or <see cref="LlmOperationNames.Embeddings"/>.</summary>
    public string OperationName { get; }

    /// <summary>The parsed request. Hooks may change it before it is sent upstream.</summary>
    public LlmRequest Request { get => _request ??= new(); internal set => _request = value; }

    private LlmRequest? _request; // made only if read before the body is parsed

    /// <summary>The model name as the caller sent it.</summary>
    public string RequestedModel { get; internal set; } = "";

    /// <summary>The provider chosen for the call, once resolved.</summary>
    public string? ProviderName { get; internal set; }

    /// <summary>The protocol spoken to the provider, once resolved.</summary>
    public LlmProtocol? ProviderProtocol { get; internal set; }

    /// <summary>The model-group deployment serving the call, when the model is a group.</summary>
    public LlmDeployment? Deployment { get; internal set; }

    /// <summary>The model name sent upstream, once resolved.</summary>
    public string? UpstreamModel { get; internal set; }

    /// <summary>Whether the request was forwarded byte-for-byte (same protocol both sides, model name rewritten).</summary>
    public bool IsPassthrough { get; internal set; }

    /// <summary>The status the provider answered with, once known.</summary>
    public int? UpstreamStatusCode { get; internal set; }

    /// <summary>Token usage reported by the provider, once known.</summary>
    public LlmUsage Usage { get; internal set; }

    /// <summary>Why generation stopped, once known.</summary>
    public LlmFinishReason? FinishReason { get; internal set; }

    /// <summary>The error the call ended with, if any.</summary>
    public LlmError? Error { get; internal set; }

    /// <summary>Whether the caller went away before the response was complete.</summary>
    public bool ClientDisconnected { get; internal set; }

    /// <summary>Who made the call, for spend attribution. Hooks and middleware set it (a team, an app, a virtual key);
    /// when left <see langword="null"/>, the record carries a fingerprint of the presented API key and the request's user.</summary>
    public LlmCallerIdentity? Caller { get; set; }

    /// <summary>The experiment and arm the call was assigned to (<c>AddExperiments()</c>), or <see langword="null"/>.</summary>
    public LlmExperimentAssignment? Experiment { get; internal set; }

    /// <summary>Whether the call is the experiment judge's, scoring <see cref="Experiment"/>'s answer (metered as
    /// <see cref="LlmCallRole.Judge"/>, never assigned an arm itself).</summary>
    internal bool IsJudgeCall { get; set; }

    /// <summary>The task the call performs, for experiment reports and spend by task: from the <c>x-llm-task</c> header,
    /// the OpenAI body's <c>metadata.task</c> or the route, unless a hook or stage sets it first.</summary>
    public string? Task { get; set; }

    /// <summary>The call's metering record, once the call has finished (visible to <c>OnCompletedAsync</c> hooks):
    /// settled tokens, cost and price version.</summary>
    public LlmCallRecord? Record { get; internal set; }

    /// <summary>When the gateway received the request, as wall-clock time (prices are chosen by it).</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>How the response cache took part: a hit (exact or semantic), a miss, a bypass, or
    /// <see cref="LlmCacheOutcome.None"/> when no cache policy applies.</summary>
    public LlmCacheOutcome CacheOutcome { get; internal set; }

    /// <summary>The cached answer a hit replayed (its original provider, model and cost).</summary>
    internal LlmCacheEntry? CacheHit { get; set; }

    /// <summary>Who watches the response on its way to the caller (metering, the cache); none until a stage adds one.</summary>
    internal Protocols.ResponseObservers? Observers { get; private set; }

    /// <summary>The host's output guards when it has any: the answer goes through them before the caller sees it.</summary>
    internal LlmOutputGuard[]? OutputGuards { get; set; }

    internal void Observe(Protocols.ILlmResponseObserver observer) => (Observers ??= new()).Add(observer);

    /// <summary>The prompt's size as the router estimated it (o200k_base, before a deployment is chosen), for reuse
    /// by the call (race losers' estimates); -1 when not estimated.</summary>
    internal long EstimatedPromptTokens { get; set; } = -1;

    /// <summary>Whether the gateway made a passthrough stream report usage the caller did not ask for (and hides it).</summary>
    internal bool StreamUsageRequested { get; set; }

    /// <summary>Whether the call raced several deployments.</summary>
    internal bool Raced { get; set; }

    /// <summary>The tokenizer that counted <see cref="Usage"/> when the gateway counted it rather than the provider
    /// reporting it (Gemini embeddings).</summary>
    internal string? UsageCountedBy { get; set; }

    /// <summary>The prompt's tokens and images as the gateway counted them (metering counts once per call); -1 until then.</summary>
    internal (long Tokens, int Images) CountedPrompt { get; set; } = (-1, 0);

    /// <summary>When the gateway received the request (<see cref="TimeProvider.GetTimestamp"/> units).</summary>
    public long StartTimestamp { get; }

    /// <summary>Time from receipt to the first content byte sent to the caller.</summary>
    public TimeSpan? TimeToFirstToken => _firstTokenTimestamp == 0 ? null : _timeProvider.GetElapsedTime(StartTimestamp, _firstTokenTimestamp);

    /// <summary>Time from receipt to the end of the response.</summary>
    public TimeSpan? Duration => _endTimestamp == 0 ? null : _timeProvider.GetElapsedTime(StartTimestamp, _endTimestamp);

    /// <summary>The upstream attempts made, in order: one for a plain call; for a model group, one per deployment tried.</summary>
    public IReadOnlyList<LlmAttempt> Attempts => (IReadOnlyList<LlmAttempt>?)_attempts ?? [];

    private List<LlmAttempt>? _attempts;
    private readonly Lock _attemptsLock = new();

    /// <summary>Resends to a deployment after a transient failure (its retry policy's), over the whole call.</summary>
    internal int Retries => _retries;

    /// <summary>Hand-overs from a failed deployment to the next candidate.</summary>
    internal int Fallbacks => _fallbacks;

    private int _retries;
    private int _fallbacks;

    internal void RecordAttempt(LlmAttempt attempt, bool handedOver)
    {
        // Race legs finish on their own threads.
        lock (_attemptsLock)
        {
            (_attempts ??= []).Add(attempt);
            _fallbacks += handedOver ? 1 : 0;
        }
    }

    internal void RecordRetry() => Interlocked.Increment(ref _retries);

    /// <summary>A bag for hooks and extensions to share per-request state.</summary>
    public IDictionary<string, object?> Items => _items ??= new Dictionary<string, object?>(StringComparer.Ordinal);

    private Dictionary<string, object?>? _items;

    /// <summary>The clock the call is timed by (the gateway's <see cref="System.TimeProvider"/>).</summary>
    internal TimeProvider TimeProvider => _timeProvider;

    internal void MarkFirstToken()
    {
        if (_firstTokenTimestamp == 0)
        {
            _firstTokenTimestamp = _timeProvider.GetTimestamp();
        }
    }

    /// <summary>Marks the end of the call, once: the first stage to see it finished decides its duration.</summary>
    internal void MarkEnd()
    {
        if (_endTimestamp == 0)
        {
            _endTimestamp = _timeProvider.GetTimestamp();
        }
    }

    private List<(Func<LlmRequestContext, object?, ValueTask> Callback, object? State)>? _completed;

    /// <summary>
    /// Runs <paramref name="callback"/> once the call is over — the response sent or failed, the call metered (its
    /// <see cref="Record"/> set) — in reverse order of registration, as <c>HttpResponse.OnCompleted</c>. An exception it
    /// throws is logged and affects nothing else.
    /// </summary>
    public void OnCompleted(Func<LlmRequestContext, object?, ValueTask> callback, object? state = null)
    {
        ArgumentNullException.ThrowIfNull(callback);
        (_completed ??= []).Add((callback, state));
    }

    internal async ValueTask RunCompletedAsync(Action<Exception> failed)
    {
        for (var i = (_completed?.Count ?? 0) - 1; i >= 0; i--)
        {
            try
            {
                await _completed![i].Callback(this, _completed[i].State).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                failed(ex);
            }
        }
    }

    /// <summary>The end of the pipeline for this call: the router for chat, the embeddings sender for embeddings.</summary>
    internal LlmCallDelegate? Upstream { get; set; }

    /// <summary>What <see cref="Upstream"/> works on (the prepared chat call).</summary>
    internal object? UpstreamState { get; set; }

    /// <summary>Whether the call has been through metering (recorded, or failed to be).</summary>
    internal bool Metered { get; set; }

    private CallSettlement? _settlements;

    /// <summary>Holds <paramref name="settlement"/> until metering prices the call (<see cref="CallSettlement"/>).</summary>
    internal void HoldUntilSettled(CallSettlement settlement)
    {
        settlement.Next = _settlements;
        _settlements = settlement;
    }

    /// <summary>Hands a race loser's record to what the call holds.</summary>
    internal void SettleLoser(LlmCallRecord record)
    {
        for (var s = _settlements; s is not null; s = s.Next)
        {
            s.Recorded(record);
        }
    }

    /// <summary>Closes what the call holds with its own record (<see langword="null"/> if metering failed); once.</summary>
    internal void Settle()
    {
        if (_settlements is null || Interlocked.Exchange(ref _settled, 1) == 1)
        {
            return;
        }

        for (var s = _settlements; s is not null; s = s.Next)
        {
            s.Close(Record);
        }
    }

    private int _settled;
}

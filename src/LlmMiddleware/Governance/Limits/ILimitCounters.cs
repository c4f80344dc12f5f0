namespace LlmMiddleware.Governance.Limits;

/// <summary>A subject a call is counted under, with the limit in force for it.</summary>
internal readonly record struct LimitSubject(LlmRateLimit Rule, LlmRateLimitScope Scope, string Subject);

/// <summary>
/// Where rate-limit windows and concurrency slots are counted: this instance's memory by default
/// (<see cref="InMemoryLimitCounters"/>), or a store every instance shares (Redis). A call takes from every subject's
/// limits at once, or from none.
/// </summary>
internal interface ILimitCounters
{
    /// <summary>Takes a request, <paramref name="tokens"/> and a concurrency slot under each subject's limits (those it has).</summary>
    ValueTask<LimitAdmission> TryTakeAsync(LimitSubject[] subjects, long tokens, DateTimeOffset now);
}

/// <summary>
/// What a call holds on its limits until it is metered: its token estimate corrected to the metered count (race
/// losers' tokens added as they are recorded), its concurrency slots given back when it ends.
/// </summary>
internal abstract class LimitHold(long estimate) : Pipeline.CallSettlement
{
    /// <summary>Adds <paramref name="delta"/> tokens (negative to hand back) to the windows the call was counted in.</summary>
    public abstract void CorrectTokens(long delta);

    /// <summary>Gives back the call's concurrency slots: it has ended.</summary>
    public abstract void Release();

    /// <summary>Gives back everything the call took: something admitted with it (another limit, a budget) refused it.</summary>
    public abstract void Refund();

    protected long Estimate => estimate;

    public override void Recorded(LlmCallRecord record) => CorrectTokens(record.InputTokens + record.OutputTokens);

    public override void Close(LlmCallRecord? record)
    {
        if (record is not null)
        {
            CorrectTokens(record.InputTokens + record.OutputTokens - estimate);
        }

        Release();
    }
}

/// <summary>How a call fared: admitted with a hold, or refused by a subject's limit; and the tightest windows it met.</summary>
internal readonly record struct LimitAdmission
{
    public static readonly WindowState None = new(0, -1, long.MaxValue, default);

    public LimitAdmission()
    {
    }

    public LimitHold? Hold { get; init; }

    /// <summary>The subject whose limit refused the call; <see langword="null"/> when admitted.</summary>
    public LimitSubject? RefusedBy { get; init; }

    /// <summary>The refusing limit, as words: "60 requests per minute".</summary>
    public string? RefusedLimit { get; init; }

    public TimeSpan RetryAfter { get; init; }

    public WindowState Requests { get; init; } = None;

    public WindowState Tokens { get; init; } = None;

    public static WindowState Tighter(WindowState current, WindowState candidate) => candidate.Remaining < current.Remaining ? candidate : current;
}

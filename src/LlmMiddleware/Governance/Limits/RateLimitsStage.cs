using System.Threading.RateLimiting;
using LlmMiddleware.Identity;

namespace LlmMiddleware.Governance.Limits;

/// <summary>
/// Admits a call only within every rate limit that applies to it — its key's, team's, user's, app's, tags', its
/// model's and its model group's, then the host's own limiters — taking all or none. A refusal is a 429
/// <c>rate_limit_exceeded</c> in the caller's protocol with <c>retry-after</c>; an admitted call gets OpenAI's
/// <c>x-ratelimit-*</c> headers for its tightest limits. After the response cache by default: hits are not counted.
/// </summary>
internal sealed class RateLimitsStage(LlmRateLimits limits, CallerIdentities callers, RateLimitRefusals refusals) : LlmCallStage
{
    public override bool EditsRequest => false;

    internal override bool PassesThrough(LlmRequestContext context) => limits.Book.IsEmpty && limits.Options.Limiters.Count == 0;

    public override ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        var subjects = limits.Book.Subjects(context, callers.Of(context));
        if (subjects.Length == 0)
        {
            return Admit(context, next, null, cancellationToken);
        }

        var estimate = CallEstimate.PromptTokens(context) + (context.Request.MaxOutputTokens ?? Routing.RequestNeeds.AssumedOutputTokens);
        var taken = limits.Counters.TryTakeAsync(subjects, estimate, limits.Time.GetUtcNow());
        return taken.IsCompletedSuccessfully ? Admit(context, next, taken.Result, cancellationToken) : AwaitTakenAsync(taken, context, next, cancellationToken);
    }

    private async ValueTask AwaitTakenAsync(ValueTask<LimitAdmission> taken, LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken) =>
        await Admit(context, next, await taken.ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    private ValueTask Admit(LlmRequestContext context, LlmCallDelegate next, LimitAdmission? admission, CancellationToken cancellationToken)
    {
        var headers = context.HttpContext.Response.Headers;
        if (admission is { RefusedBy: { } refusedBy } refused)
        {
            RateLimitHeaders.Write(headers, refused);
            throw refusals.Refuse(context, refusedBy.Scope, refusedBy.Subject, refused.RefusedLimit!, refused.RetryAfter);
        }

        var leases = HostLeases(context, admission?.Hold);
        if (admission is { } admitted && limits.Options.EmitHeaders)
        {
            RateLimitHeaders.Write(headers, admitted);
        }

        if (admission?.Hold is { } hold)
        {
            context.HoldUntilSettled(hold);
        }

        if (leases is not null)
        {
            context.HoldUntilSettled(new LeaseSettlement(leases));
        }

        return next(context, cancellationToken);
    }

    /// <summary>One permit of each of the host's limiters, or the refusal (everything taken handed back).</summary>
    private List<RateLimitLease>? HostLeases(LlmRequestContext context, LimitHold? hold)
    {
        List<RateLimitLease>? leases = null;
        foreach (var limiter in limits.Options.Limiters)
        {
            var lease = limiter.AttemptAcquire(context);
            if (!lease.IsAcquired)
            {
                var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                lease.Dispose();
                leases?.ForEach(static l => l.Dispose());
                hold?.Refund();
                throw refusals.Refuse(context, null, "the host's limiter", "its limit", retryAfter);
            }

            (leases ??= []).Add(lease);
        }

        return leases;
    }

    /// <summary>The host's limiter permits, held until the call ends.</summary>
    private sealed class LeaseSettlement(List<RateLimitLease> leases) : Pipeline.CallSettlement
    {
        public override void Recorded(LlmCallRecord record)
        {
        }

        public override void Close(LlmCallRecord? record) => leases.ForEach(static l => l.Dispose());
    }
}

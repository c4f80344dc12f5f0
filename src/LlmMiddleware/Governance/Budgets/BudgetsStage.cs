using System.Globalization;
using LlmMiddleware.Identity;

namespace LlmMiddleware.Governance.Budgets;

/// <summary>
/// Admits a call only if the worst it can cost (<see cref="CostBound"/>) fits in every budget its caller is charged to,
/// and holds that much until metering prices the call; otherwise refuses it before any provider sees it — 429
/// <c>budget_exceeded</c> in the caller's protocol, with <c>retry-after</c> when the budget starts over. After the
/// response cache by default, so cache hits cost nothing and are never refused.
/// </summary>
internal sealed class BudgetsStage(LlmBudgets budgets, CostBound bound, CallerIdentities callers) : LlmCallStage
{
    public override bool EditsRequest => false;

    internal override bool PassesThrough(LlmRequestContext context) => budgets.Book.IsEmpty;

    internal LlmBudgets Budgets => budgets;

    public override ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        var charges = ChargesOf(context);
        if (charges.Length == 0)
        {
            return next(context, cancellationToken);
        }

        var amount = WorstCost(context);
        var now = budgets.Time.GetUtcNow();
        var reserved = budgets.Counters.TryReserveAsync(charges, amount, now);
        if (!reserved.IsCompletedSuccessfully)
        {
            return AwaitReservationAsync(reserved, context, next, charges, amount, now, cancellationToken);
        }

        Admit(context, reserved.Result, charges, amount, now);
        return next(context, cancellationToken);
    }

    private async ValueTask AwaitReservationAsync(ValueTask<BudgetAdmission> reserved, LlmRequestContext context, LlmCallDelegate next, BudgetCharge[] charges, decimal amount, DateTimeOffset now, CancellationToken cancellationToken)
    {
        Admit(context, await reserved.ConfigureAwait(false), charges, amount, now);
        await next(context, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The accounts the call is charged to.</summary>
    internal BudgetCharge[] ChargesOf(LlmRequestContext context) => budgets.Book.Charges(callers.Of(context));

    /// <summary>The most the call can cost: what it reserves.</summary>
    internal decimal WorstCost(LlmRequestContext context) => bound.Of(context);

    /// <summary>Refuses the call as <paramref name="admission"/> says, or holds its reservation until it is metered.</summary>
    internal void Admit(LlmRequestContext context, BudgetAdmission admission, BudgetCharge[] charges, decimal amount, DateTimeOffset now)
    {
        if (admission.Refusal is { } refusal)
        {
            budgets.Alerts.Refused(refusal);
            throw Exceeded(context, refusal, now, amount);
        }

        context.HoldUntilSettled(new BudgetReservation(budgets, charges, admission.HoldId, amount, now));
    }

    private static LlmGatewayException Exceeded(LlmRequestContext context, LlmBudgetStatus status, DateTimeOffset now, decimal amount)
    {
        var budget = status.Budget;
        if (status.ResetsAt is { } resets)
        {
            context.HttpContext.Response.Headers.RetryAfter = Math.Ceiling((resets - now).TotalSeconds).ToString(CultureInfo.InvariantCulture);
        }

        var message = string.Create(CultureInfo.InvariantCulture, $"Budget exceeded: {budget.Scope.ToString().ToLowerInvariant()} '{status.Subject}' has spent {status.Spent} USD (and holds {status.Reserved} USD for calls in flight) of its {budget.Period.ToString().ToLowerInvariant()} budget of {budget.Limit} USD; this call could cost up to {amount:0.######} USD.");
        return new LlmGatewayException(new LlmError(LlmErrorKind.RateLimit, message) { Code = LlmErrorCodes.BudgetExceeded });
    }
}

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
    [ThreadStatic]
    private static List<(LlmBudget, BudgetAccount)>? t_reserved;

    public override bool EditsRequest => false;

    internal override bool PassesThrough(LlmRequestContext context) => budgets.Book.IsEmpty;

    public override ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        var amount = bound.Of(context);
        var now = budgets.Time.GetUtcNow();
        var reserved = t_reserved ??= [];
        if (budgets.Book.TryReserve(callers.Of(context), amount, now, reserved) is { } refusal)
        {
            budgets.Alerts.Refused(refusal);
            throw Exceeded(context, refusal, now, amount);
        }

        if (reserved.Count > 0)
        {
            context.HoldUntilSettled(new BudgetReservation(budgets, [.. reserved], amount));
            reserved.Clear();
        }

        return next(context, cancellationToken);
    }

    private static LlmGatewayException Exceeded(LlmRequestContext context, LlmBudgetStatus status, DateTimeOffset now, decimal amount)
    {
        var budget = status.Budget;
        var period = budget.Period == LlmBudgetPeriod.Total ? "total" : budget.Period.ToString().ToLowerInvariant();
        if (status.ResetsAt is { } resets)
        {
            context.HttpContext.Response.Headers.RetryAfter = Math.Ceiling((resets - now).TotalSeconds).ToString(CultureInfo.InvariantCulture);
        }

        var message = string.Create(CultureInfo.InvariantCulture, $"Budget exceeded: {budget.Scope.ToString().ToLowerInvariant()} '{status.Subject}' has spent {status.Spent} USD (and holds {status.Reserved} USD for calls in flight) of its {period} budget of {budget.Limit} USD; this call could cost up to {amount:0.######} USD.");
        return new LlmGatewayException(new LlmError(LlmErrorKind.RateLimit, message) { Code = LlmErrorCodes.BudgetExceeded });
    }
}

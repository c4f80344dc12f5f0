using System.Runtime.CompilerServices;
using LlmMiddleware.Governance.Budgets;
using LlmMiddleware.Governance.Limits;
using LlmMiddleware.Pipeline;
using Microsoft.Extensions.DependencyInjection;

namespace LlmMiddleware.Governance;

/// <summary>
/// Rate limits and budgets as one stage, where the pipeline has them side by side and their counters live in a shared
/// store (<see cref="IGovernanceAdmission"/>): a call is admitted to both in one round trip instead of one per stage.
/// It answers exactly as the two stages would, in the same order — host limiters, rate limits, then budgets.
/// </summary>
internal sealed class GovernanceAdmissionStage(RateLimitsStage limits, BudgetsStage budgets, IGovernanceAdmission store) : LlmCallStage
{
    public override bool EditsRequest => false;

    internal override bool PassesThrough(LlmRequestContext context) => limits.PassesThrough(context) && budgets.PassesThrough(context);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask InvokeAsync(LlmRequestContext context, LlmCallDelegate next, CancellationToken cancellationToken)
    {
        limits.TakeHostLeases(context);
        var subjects = limits.SubjectsOf(context);
        var charges = budgets.ChargesOf(context);
        var amount = charges.Length == 0 ? 0m : budgets.WorstCost(context);
        var now = budgets.Budgets.Time.GetUtcNow();
        (LimitAdmission? Taken, BudgetAdmission? Reserved) outcome = (subjects.Length, charges.Length) switch
        {
            (0, 0) => (null, null),
            (_, 0) => (await limits.Limits.Counters.TryTakeAsync(subjects, RateLimitsStage.Estimate(context), now).ConfigureAwait(false), null),
            (0, _) => (null, await budgets.Budgets.Counters.TryReserveAsync(charges, amount, now).ConfigureAwait(false)),
            _ => await store.TryAdmitAsync(subjects, RateLimitsStage.Estimate(context), charges, amount, now).ConfigureAwait(false),
        };

        if (outcome.Taken is { } admission)
        {
            limits.Admit(context, admission);
        }

        if (outcome.Reserved is { } reservation)
        {
            budgets.Admit(context, reservation, charges, amount, now);
        }

        await next(context, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Puts a <see cref="GovernanceAdmissionStage"/> in place of rate limits followed directly by budgets, when a
/// joint admission is registered (counters in a shared store).</summary>
internal sealed class GovernanceAdmissionFusion(IServiceProvider services) : IStageFusion
{
    public void Fuse(List<LlmCallStage> stages)
    {
        var at = stages.FindIndex(s => s is RateLimitsStage);
        if (at >= 0 && at + 1 < stages.Count && stages[at + 1] is BudgetsStage budgets && services.GetService<IGovernanceAdmission>() is { } store)
        {
            stages[at] = new GovernanceAdmissionStage((RateLimitsStage)stages[at], budgets, store);
            stages.RemoveAt(at + 1);
        }
    }
}

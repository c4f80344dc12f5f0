using LlmMiddleware.Governance;
using LlmMiddleware.Governance.Budgets;
using LlmMiddleware.Governance.Limits;
using StackExchange.Redis;

namespace LlmMiddleware.Redis;

/// <summary>
/// A call's rate limits and budgets admitted in one Lua script — one round trip instead of two — with its limits'
/// windows and slots taken and its accounts reserved together, or none of them. While Redis is unreachable the
/// configured failure mode applies once for both.
/// </summary>
internal sealed class RedisGovernanceAdmission(RedisGovernance store, RedisLimitCounters limits, RedisBudgetCounters budgets) : IGovernanceAdmission
{
    public async ValueTask<(LimitAdmission Limits, BudgetAdmission? Budgets)> TryAdmitAsync(LimitSubject[] subjects, long tokens, BudgetCharge[] charges, decimal amount, DateTimeOffset now)
    {
        var take = limits.Prepare(subjects, tokens, now, lease: false); // the budgets need Redis anyway
        var reserve = budgets.Prepare(charges, amount, now);
        RedisResult[] result;
        try
        {
            result = (RedisResult[])(await store.EvaluateAsync(GovernanceScripts.AdmitScript, [.. take.Keys, .. reserve.Keys], [take.Keys.Length, .. take.Values, .. reserve.Values]).ConfigureAwait(false))!;
        }
        catch (Exception ex) when (RedisGovernance.IsUnreachable(ex))
        {
            store.Unreachable(ex);
            return await AdmitLocallyAsync(subjects, tokens, charges, amount, now).ConfigureAwait(false);
        }

        return (int)result[0] switch
        {
            0 => (take.Read(result, 0), reserve.Admitted),
            1 => (take.Read(result, 1), null),
            _ => (new LimitAdmission(), reserve.Read(result, 1)),
        };
    }

    /// <summary>On this instance's shares, with what the limits took handed back when a budget refuses.</summary>
    private async ValueTask<(LimitAdmission Limits, BudgetAdmission? Budgets)> AdmitLocallyAsync(LimitSubject[] subjects, long tokens, BudgetCharge[] charges, decimal amount, DateTimeOffset now)
    {
        var taken = await limits.TakeLocallyAsync(subjects, tokens, now).ConfigureAwait(false);
        if (taken.RefusedBy is not null)
        {
            return (taken, null);
        }

        var reserved = await budgets.ReserveLocallyAsync(charges, amount, now).ConfigureAwait(false);
        if (reserved.Refusal is null)
        {
            return (taken, reserved);
        }

        taken.Hold?.Refund();
        return (taken with { Hold = null }, reserved);
    }
}

using System.Globalization;
using System.Runtime.CompilerServices;
using LlmMiddleware.Governance.Budgets;
using StackExchange.Redis;

namespace LlmMiddleware.Redis;

/// <summary>
/// Budget accounts in Redis, shared by every instance: a reservation checks and holds on all of a call's accounts in
/// one Lua script (one round trip), so instances together never hold more than a budget. Each hold is kept per call
/// with a deadline, so a hold whose instance died lapses instead of locking the budget. Amounts are counted in
/// nano-USD integers. While Redis is unreachable the configured failure mode applies.
/// </summary>
internal sealed class RedisBudgetCounters(RedisGovernance store, BudgetPeriods periods) : IBudgetCounters
{
    /// <summary>The hold-id prefix of calls admitted on this instance's share while Redis was unreachable.</summary>
    private const string Local = "local:";

    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    private readonly InMemoryBudgetCounters _local = new(periods);
    private long _holds;
    private readonly ConditionalWeakTable<LlmBudget, LlmBudget> _shares = [];

    public async ValueTask<BudgetAdmission> TryReserveAsync(BudgetCharge[] charges, decimal amount, DateTimeOffset now)
    {
        var reserve = Prepare(charges, amount, now);
        RedisResult[] result;
        try
        {
            result = (RedisResult[])(await store.EvaluateAsync(GovernanceScripts.ReserveScript, reserve.Keys, reserve.Values).ConfigureAwait(false))!;
        }
        catch (Exception ex) when (RedisGovernance.IsUnreachable(ex))
        {
            store.Unreachable(ex);
            return await ReserveLocallyAsync(charges, amount, now).ConfigureAwait(false);
        }

        return reserve.Read(result, 0);
    }

    /// <summary>What a call reserves: the keys and arguments of <see cref="GovernanceScripts.ReserveScript"/>'s part.</summary>
    internal Reservation Prepare(BudgetCharge[] charges, decimal amount, DateTimeOffset now)
    {
        var keys = new RedisKey[charges.Length * 2];
        var values = new RedisValue[4 + (charges.Length * 2)];
        var holdId = NextHoldId();
        (values[0], values[1], values[2], values[3]) = (now.ToUnixTimeMilliseconds(), (now + store.Options.HoldTimeout).ToUnixTimeMilliseconds(), holdId, Nano(amount));
        for (var i = 0; i < charges.Length; i++)
        {
            var (key, holds, ttl) = Account(charges[i], now);
            (keys[2 * i], keys[(2 * i) + 1]) = (key, holds);
            (values[4 + (2 * i)], values[5 + (2 * i)]) = (Nano(charges[i].Budget.Limit), ttl);
        }

        return new Reservation(periods, charges, holdId, now, keys, values);
    }

    /// <summary>Reserves on this instance's share of each budget: Redis is unreachable and the store fails open.</summary>
    internal async ValueTask<BudgetAdmission> ReserveLocallyAsync(BudgetCharge[] charges, decimal amount, DateTimeOffset now) =>
        await _local.TryReserveAsync(Shares(charges), amount, now).ConfigureAwait(false) with { HoldId = Local + NextHoldId() };

    private string NextHoldId() => _instance + ":" + Interlocked.Increment(ref _holds).ToString(CultureInfo.InvariantCulture);

    /// <summary>A call's part of a reservation script, and how to read what the script answered.</summary>
    internal sealed class Reservation(BudgetPeriods periods, BudgetCharge[] charges, string holdId, DateTimeOffset now, RedisKey[] keys, RedisValue[] values)
    {
        public RedisKey[] Keys => keys;

        public RedisValue[] Values => values;

        public BudgetAdmission Admitted => new(null, holdId);

        /// <summary>Reads <c>{0}</c> or <c>{refusing account, spent, held}</c> from <paramref name="result"/>[<paramref name="at"/>].</summary>
        public BudgetAdmission Read(RedisResult[] result, int at)
        {
            if ((int)result[at] is not (var refused and > 0))
            {
                return Admitted;
            }

            var charge = charges[refused - 1];
            var (start, end) = periods.At(charge.Budget.Period, now);
            return new(new LlmBudgetStatus(charge.Budget, charge.Subject, Usd((long)result[at + 1]), Usd((long)result[at + 2]), start, end == DateTimeOffset.MaxValue ? null : end), null);
        }
    }

    public async ValueTask<BudgetCrossing[]?> SettleAsync(BudgetCharge[] charges, string? holdId, decimal released, bool last, decimal cost, DateTimeOffset reservedAt, DateTimeOffset now)
    {
        if (holdId is null || holdId.StartsWith(Local, StringComparison.Ordinal))
        {
            return await _local.SettleAsync(Shares(charges), holdId, released, last, cost, reservedAt, now).ConfigureAwait(false);
        }

        var keys = new RedisKey[charges.Length * 3];
        var values = new RedisValue[4 + charges.Length];
        (values[0], values[1], values[2], values[3]) = (holdId, Nano(released), last ? 1 : 0, Nano(cost));
        for (var i = 0; i < charges.Length; i++)
        {
            var (key, holds, _) = Account(charges[i], reservedAt);
            var (charged, _, ttl) = Account(charges[i], now);
            (keys[3 * i], keys[(3 * i) + 1], keys[(3 * i) + 2], values[4 + i]) = (key, holds, charged, ttl);
        }

        try
        {
            var after = (long[])(await store.EvaluateAsync(GovernanceScripts.SettleScript, keys, values).ConfigureAwait(false))!;
            var crossed = charges.Select((charge, i) => (i, Threshold: BudgetAlerts.Crossed(charge.Budget, Usd(after[i] - Nano(cost)), Usd(after[i])))).Where(c => c.Threshold is not null).ToArray();
            return crossed.Length == 0 ? null : [.. crossed.Select(c => new BudgetCrossing(c.i, c.Threshold!.Value))];
        }
        catch (Exception ex) when (RedisGovernance.IsUnreachable(ex))
        {
            store.SettlementLost(ex);
            return null;
        }
    }

    public async ValueTask<LlmBudgetStatus> StatusAsync(BudgetCharge charge, DateTimeOffset now)
    {
        var (key, _, _) = Account(charge, now);
        var fields = (RedisResult[])(await store.EvaluateAsync("return redis.call('HMGET', KEYS[1], 's', 'r')", [key], []).ConfigureAwait(false))!;
        var (start, end) = periods.At(charge.Budget.Period, now);
        return new LlmBudgetStatus(charge.Budget, charge.Subject, Usd((long?)fields[0] ?? 0), Usd((long?)fields[1] ?? 0), start, end == DateTimeOffset.MaxValue ? null : end);
    }

    public async IAsyncEnumerable<LlmBudgetStatus> StatusesAsync(Func<LlmBudgetScope, string, LlmBudgetPeriod, LlmBudget?> budgetOf, DateTimeOffset now)
    {
        var prefix = store.Key("b:").ToString();
        await foreach (var key in store.ScanAsync(prefix + "*").ConfigureAwait(false))
        {
            // b:{scope}:{period}:{period start}:{subject}
            var parts = key[prefix.Length..].Split(':', 4);
            if (parts.Length == 4 && Enum.TryParse<LlmBudgetScope>(parts[0], out var scope) && Enum.TryParse<LlmBudgetPeriod>(parts[1], out var period)
                && budgetOf(scope, parts[3], period) is { } budget && parts[2] == PeriodStart(period, now))
            {
                yield return await StatusAsync(new BudgetCharge(budget, parts[3]), now).ConfigureAwait(false);
            }
        }
    }

    /// <summary>An account's keys in the period containing <paramref name="at"/>, and how long they must live.</summary>
    private (RedisKey Key, RedisKey Holds, long Ttl) Account(BudgetCharge charge, DateTimeOffset at)
    {
        var budget = charge.Budget;
        var (_, end) = periods.At(budget.Period, at);
        var name = $"{budget.Scope}:{budget.Period}:{PeriodStart(budget.Period, at)}:{charge.Subject}";
        var ttl = end == DateTimeOffset.MaxValue ? 0 : (long)(end - at + store.Options.HoldTimeout + TimeSpan.FromDays(1)).TotalSeconds;
        return (store.Key("b:" + name), store.Key("bh:" + name), ttl);
    }

    private string PeriodStart(LlmBudgetPeriod period, DateTimeOffset at) =>
        period == LlmBudgetPeriod.Total ? "0" : periods.At(period, at).Start.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    /// <summary>This instance's share of each budget, for failing open.</summary>
    private BudgetCharge[] Shares(BudgetCharge[] charges) =>
        [.. charges.Select(c => c with { Budget = _shares.GetValue(c.Budget, b => { var share = b.Clone(); share.Limit = b.Limit / store.Options.Replicas; return share; }) })];

    private static long Nano(decimal usd) => (long)Math.Ceiling(usd * 1_000_000_000m);

    private static decimal Usd(long nano) => nano / 1_000_000_000m;
}

using System.Runtime.CompilerServices;
using LlmMiddleware.Governance.Limits;
using StackExchange.Redis;

namespace LlmMiddleware.Redis;

/// <summary>
/// Rate limits in Redis, shared by every instance: a call's minute windows (requests, tokens) and concurrency slots
/// are checked and taken in one Lua script (one round trip), all or none, so N instances together admit the configured
/// total, not N times it. Windows are the clock's minutes (every instance agrees); a slot is a call held with a
/// deadline, so a slot whose instance died lapses. With <see cref="RedisGovernanceOptions.WindowLease"/>, calls under
/// window limits only are mostly admitted from this instance's slices (<see cref="WindowLeases"/>), with no round trip.
/// While Redis is unreachable the configured failure mode applies.
/// </summary>
internal sealed class RedisLimitCounters(RedisGovernance store, TimeProvider time) : ILimitCounters
{
    private readonly string _instance = Guid.NewGuid().ToString("N")[..12];
    private readonly WindowLeases? _leases = store.Options.WindowLease > 0 ? new(store.Options.WindowLease) : null;
    private long _calls;
    private readonly ConditionalWeakTable<LlmRateLimit, LlmRateLimit> _shares = [];
    private InMemoryLimitCounters? _local;

    public async ValueTask<LimitAdmission> TryTakeAsync(LimitSubject[] subjects, long tokens, DateTimeOffset now)
    {
        var take = Prepare(subjects, tokens, now, lease: true);
        if (take.Leased is { } leased)
        {
            return leased;
        }

        RedisResult[] result;
        try
        {
            result = (RedisResult[])(await store.EvaluateAsync(GovernanceScripts.TakeScript, take.Keys, take.Values).ConfigureAwait(false))!;
        }
        catch (Exception ex) when (RedisGovernance.IsUnreachable(ex))
        {
            take.Unanswered();
            store.Unreachable(ex);
            return await TakeLocallyAsync(subjects, tokens, now).ConfigureAwait(false);
        }

        return take.Read(result, 0);
    }

    /// <summary>What a call takes (from this instance's slices when <paramref name="lease"/> allows and they hold enough).</summary>
    internal LimitTake Prepare(LimitSubject[] subjects, long tokens, DateTimeOffset now, bool lease)
    {
        var minute = now.ToUnixTimeMilliseconds() / 60_000;
        var counted = new List<Counted>();
        foreach (var subject in subjects)
        {
            var (rule, name) = (subject.Rule, $"{subject.Scope}:{subject.Subject}");
            if (rule.MaxConcurrentRequests is { } slots)
            {
                counted.Add(new(subject, 'c', store.Key("c:" + name), 1, slots));
            }

            if (rule.RequestsPerMinute is { } rpm)
            {
                counted.Add(new(subject, 'r', store.Key($"w:r:{minute}:{name}"), 1, rpm));
            }

            if (rule.TokensPerMinute is { } tpm)
            {
                counted.Add(new(subject, 't', store.Key($"w:t:{minute}:{name}"), tokens, tpm));
            }
        }

        var call = _instance + ":" + Interlocked.Increment(ref _calls).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new LimitTake(store, lease ? _leases : null, call, counted, tokens, now);
    }

    /// <summary>Takes on this instance's share of each limit: Redis is unreachable and the store fails open.</summary>
    internal ValueTask<LimitAdmission> TakeLocallyAsync(LimitSubject[] subjects, long tokens, DateTimeOffset now)
    {
        _local ??= new InMemoryLimitCounters(time);
        return _local.TryTakeAsync([.. subjects.Select(s => s with { Rule = _shares.GetValue(s.Rule, Share) })], tokens, now);
    }

    private LlmRateLimit Share(LlmRateLimit rule)
    {
        var share = rule.Clone();
        var replicas = store.Options.Replicas;
        (share.RequestsPerMinute, share.TokensPerMinute, share.MaxConcurrentRequests) =
            (rule.RequestsPerMinute is { } r ? Math.Max(r / replicas, 1) : null, rule.TokensPerMinute is { } t ? Math.Max(t / replicas, 1) : null, rule.MaxConcurrentRequests is { } c ? Math.Max(c / replicas, 1) : null);
        return share;
    }
}

/// <summary>A call's windows and slots in Redis; given back off the call's path. Token corrections go to this instance's
/// slices as far as they take them (<see cref="WindowLeases.Absorb"/>), the rest to Redis.</summary>
internal sealed class RedisLimitHold(RedisGovernance store, WindowLeases? leases, long minute, string call, List<Counted> counted, long estimate) : LimitHold(estimate)
{
    public override void CorrectTokens(long delta) => GiveBack(Tokens(delta));

    /// <summary>The token correction and the slot release in one script: one round trip to settle, or none.</summary>
    public override void Close(LlmCallRecord? record) =>
        GiveBack([.. Tokens(record is null ? 0 : record.InputTokens + record.OutputTokens - Estimate), .. Slots()]);

    public override void Release() => GiveBack(Slots());

    public override void Refund() => GiveBack([.. counted.Select(c => (c.Key, c.Kind == 'c' ? "c" : "w", c.Kind == 't' ? -Estimate : -1L))]);

    private List<(RedisKey Key, string Kind, long Delta)> Tokens(long delta)
    {
        var changes = new List<(RedisKey Key, string Kind, long Delta)>();
        foreach (var window in delta == 0 ? [] : counted.Where(c => c.Kind == 't'))
        {
            if ((leases?.Absorb(window.Key, minute, delta) ?? delta) is var rest and not 0)
            {
                changes.Add((window.Key, "w", rest));
            }
        }

        return changes;
    }

    private List<(RedisKey Key, string Kind, long Delta)> Slots() => [.. counted.Where(c => c.Kind == 'c').Select(c => (c.Key, "c", 0L))];

    private void GiveBack(List<(RedisKey Key, string Kind, long Delta)> changes)
    {
        if (changes.Count > 0)
        {
            _ = RunAsync(changes);
        }
    }

    private async Task RunAsync(List<(RedisKey Key, string Kind, long Delta)> changes)
    {
        try
        {
            await store.EvaluateAsync(GovernanceScripts.GiveBackScript, [.. changes.Select(c => c.Key)], [call, .. changes.SelectMany(c => new RedisValue[] { c.Kind, c.Delta })]).ConfigureAwait(false);
        }
        catch (Exception ex) when (RedisGovernance.IsUnreachable(ex))
        {
            store.SettlementLost(ex);
        }
    }
}

using LlmMiddleware.Governance.Limits;
using StackExchange.Redis;

namespace LlmMiddleware.Redis;

/// <summary>A limit a call is counted in: a minute window (<c>r</c> requests, <c>t</c> tokens) or concurrency slots
/// (<c>c</c>); for a window, <c>Extra</c> permits asked beyond the call's for this instance's slice.</summary>
internal readonly record struct Counted(LimitSubject Subject, char Kind, RedisKey Key, long Amount, long Limit, long Extra = 0);

/// <summary>
/// What a call takes from its limits in Redis: admitted from this instance's slices (<see cref="Leased"/>) when it can
/// be, else its part of a limits script — keys and arguments — and how to read what the script answered.
/// </summary>
internal sealed class LimitTake
{
    private const long MinuteMs = 60_000;

    private readonly RedisGovernance _store;
    private readonly WindowLeases? _leases;
    private readonly string _call;
    private readonly List<Counted> _counted;
    private readonly long _tokens;
    private readonly long _minute;
    private readonly TimeSpan _resetIn;

    public LimitTake(RedisGovernance store, WindowLeases? leases, string call, List<Counted> counted, long tokens, DateTimeOffset now)
    {
        (_store, _leases, _call, _counted, _tokens) = (store, leases, call, counted, tokens);
        var nowMs = now.ToUnixTimeMilliseconds();
        _minute = nowMs / MinuteMs;
        _resetIn = TimeSpan.FromMilliseconds(((_minute + 1) * MinuteMs) - nowMs);
        // A call holding concurrency slots goes to Redis whatever its windows hold: slices are for window-only calls.
        if (leases is not null && counted.Count > 0 && counted.TrueForAll(c => c.Kind != 'c'))
        {
            if (leases.TryTake(counted, _minute) is { } remaining)
            {
                Leased = Admitted(i => remaining[i]);
                return;
            }

            for (var i = 0; i < counted.Count; i++)
            {
                counted[i] = counted[i] with { Extra = leases.Ask(counted[i].Key, counted[i].Limit, _minute) };
            }
        }

        Keys = [.. counted.Select(c => c.Key)];
        Values = new RedisValue[4 + (4 * counted.Count)];
        (Values[0], Values[1], Values[2], Values[3]) = (nowMs, call, (now + store.Options.HoldTimeout).ToUnixTimeMilliseconds(), 120);
        for (var i = 0; i < counted.Count; i++)
        {
            var c = counted[i];
            (Values[4 + (4 * i)], Values[5 + (4 * i)], Values[6 + (4 * i)], Values[7 + (4 * i)]) = (c.Kind == 'c' ? "c" : "w", c.Amount, c.Limit, c.Extra);
        }
    }

    /// <summary>The call admitted from this instance's slices, with no round trip; <see langword="null"/> when it needs Redis.</summary>
    public LimitAdmission? Leased { get; }

    public RedisKey[] Keys { get; } = [];

    public RedisValue[] Values { get; } = [];

    /// <summary>Reads <c>{0, used before...}</c> or <c>{refusing key, used}</c> from <paramref name="result"/>[<paramref name="at"/>].</summary>
    public LimitAdmission Read(RedisResult[] result, int at)
    {
        if ((int)result[at] is var refused and > 0)
        {
            Unanswered();
            var (subject, kind, _, amount, limit, _) = _counted[refused - 1];
            var state = new WindowState(_minute, limit, Math.Max(limit - (long)result[at + 1], 0), _resetIn);
            return new LimitAdmission
            {
                RefusedBy = subject,
                RefusedLimit = kind switch
                {
                    'c' => $"{limit} requests at once",
                    'r' => $"{limit} requests per minute",
                    _ => $"{limit} tokens per minute (this call may use {amount})",
                },
                RetryAfter = kind == 'c' ? TimeSpan.FromSeconds(1) : _resetIn,
                Requests = kind == 'r' ? state : LimitAdmission.None,
                Tokens = kind == 't' ? state : LimitAdmission.None,
            };
        }

        var remaining = new long[_counted.Count];
        for (var i = 0; i < _counted.Count; i++)
        {
            var (_, kind, key, amount, limit, extra) = _counted[i];
            var left = limit - (long)result[at + 1 + i] - amount;
            var granted = kind == 'c' ? 0 : Math.Clamp(left, 0, extra); // as the script takes it
            remaining[i] = Math.Max(left - granted, 0) + (extra > 0 ? _leases!.Settle(key, _minute, extra, granted, left - granted) : 0);
        }

        return Admitted(i => remaining[i]);
    }

    /// <summary>Redis did not answer (or refused): nothing of what was asked for the slices came.</summary>
    public void Unanswered()
    {
        foreach (var c in _counted.Where(c => c.Extra > 0))
        {
            _leases!.Settle(c.Key, _minute, c.Extra, 0, null);
        }
    }

    private LimitAdmission Admitted(Func<int, long> remaining)
    {
        var (requests, tokens) = (LimitAdmission.None, LimitAdmission.None);
        for (var i = 0; i < _counted.Count; i++)
        {
            var state = new WindowState(_minute, _counted[i].Limit, remaining(i), _resetIn);
            (requests, tokens) = _counted[i].Kind switch
            {
                'r' => (LimitAdmission.Tighter(requests, state), tokens),
                't' => (requests, LimitAdmission.Tighter(tokens, state)),
                _ => (requests, tokens),
            };
        }

        return new LimitAdmission { Hold = new RedisLimitHold(_store, _leases, _minute, _call, _counted, _tokens), Requests = requests, Tokens = tokens };
    }
}

namespace LlmMiddleware.Redis;

/// <summary>
/// The Lua scripts budgets and limits run in Redis: each checks and changes all of a call's keys atomically, in one
/// round trip. Keys share the governance hash tag, so a script's keys are on one node of a cluster. Limits and budgets
/// are each a check (nothing changed) and a take, so one script can admit a call to both, all or nothing.
/// </summary>
internal static class GovernanceScripts
{
    // Limits: n keys from KEYS[k + 1], a minute window's counter or a concurrency limit's slots (calls by deadline);
    // arguments from ARGV[a + 1]: now ms, call, slot deadline ms, window ttl s; per key: kind (w or c), amount, limit,
    // and for a window, extra: permits to take beyond the call's as far as they fit (an instance's lease slice).
    private const string Limits = """
        local function limits_check(k, a, n)
          local now, used = tonumber(ARGV[a + 1]), {}
          for i = 1, n do
            local key, amount, limit = KEYS[k + i], tonumber(ARGV[a + 2 + 4 * i]), tonumber(ARGV[a + 3 + 4 * i])
            if ARGV[a + 1 + 4 * i] == 'c' then
              redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
              used[i] = redis.call('ZCARD', key)
            else
              used[i] = tonumber(redis.call('GET', key) or '0')
            end
            if used[i] + amount > limit then return used, i end
          end
          return used, 0
        end
        local function limits_take(k, a, n, used)
          local call, deadline, ttl = ARGV[a + 2], tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
          for i = 1, n do
            local key, amount, limit, extra = KEYS[k + i], tonumber(ARGV[a + 2 + 4 * i]), tonumber(ARGV[a + 3 + 4 * i]), tonumber(ARGV[a + 4 + 4 * i])
            if ARGV[a + 1 + 4 * i] == 'c' then
              redis.call('ZADD', key, deadline, call)
              redis.call('PEXPIREAT', key, deadline)
            else
              redis.call('INCRBY', key, amount + math.max(math.min(extra, limit - used[i] - amount), 0))
              redis.call('EXPIRE', key, ttl)
            end
          end
        end

        """;

    // Budgets: n accounts from KEYS[k + 1], each its hash (s: spent, r: held, h:<call>: a call's hold) and its holds'
    // deadlines (a sorted set); arguments from ARGV[a + 1]: now ms, hold deadline ms, call, amount; per account: limit,
    // ttl s (0: none). Lapsed holds (their instance died) are released before checking.
    private const string Budgets = """
        local function budgets_check(k, a, n)
          local now, amount = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 4])
          for i = 1, n do
            local key, holds = KEYS[k + 2 * i - 1], KEYS[k + 2 * i]
            for _, lapsed in ipairs(redis.call('ZRANGEBYSCORE', holds, '-inf', now)) do
              redis.call('HINCRBY', key, 'r', -tonumber(redis.call('HGET', key, 'h:' .. lapsed) or '0'))
              redis.call('HDEL', key, 'h:' .. lapsed)
            end
            redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
            local s = tonumber(redis.call('HGET', key, 's') or '0')
            local r = tonumber(redis.call('HGET', key, 'r') or '0')
            local limit = tonumber(ARGV[a + 3 + 2 * i])
            if s >= limit or s + r + amount > limit then return {i, s, r} end
          end
        end
        local function budgets_hold(k, a, n)
          local deadline, call, amount = tonumber(ARGV[a + 2]), ARGV[a + 3], tonumber(ARGV[a + 4])
          for i = 1, n do
            local key, holds, ttl = KEYS[k + 2 * i - 1], KEYS[k + 2 * i], tonumber(ARGV[a + 4 + 2 * i])
            redis.call('HINCRBY', key, 'r', amount)
            redis.call('HSET', key, 'h:' .. call, amount)
            redis.call('ZADD', holds, deadline, call)
            if ttl > 0 then redis.call('EXPIRE', key, ttl) redis.call('EXPIRE', holds, ttl) end
          end
        end

        """;

    /// <summary>Takes a call's limits. Returns <c>{0, used before...}</c> or <c>{refusing key, used}</c>.</summary>
    public const string TakeScript = Limits + """
        local used, refused = limits_check(0, 0, #KEYS)
        if refused > 0 then return {refused, used[refused]} end
        limits_take(0, 0, #KEYS, used)
        return {0, unpack(used)}
        """;

    /// <summary>Reserves on a call's accounts. Returns <c>{0}</c> or <c>{refusing account, spent, held}</c>.</summary>
    public const string ReserveScript = Budgets + """
        local short = budgets_check(0, 0, #KEYS / 2)
        if short then return short end
        budgets_hold(0, 0, #KEYS / 2)
        return {0}
        """;

    /// <summary>Takes a call's limits and reserves on its accounts, all or nothing. ARGV[1]: the number of limit keys
    /// (they come first), then the limits' arguments and the budgets'. Returns <c>{0, used before...}</c>,
    /// <c>{1, refusing key, used}</c> or <c>{2, refusing account, spent, held}</c>.</summary>
    public const string AdmitScript = Limits + Budgets + """
        local n = tonumber(ARGV[1])
        local b, m = 5 + 4 * n, (#KEYS - n) / 2
        local used, refused = limits_check(0, 1, n)
        if refused > 0 then return {1, refused, used[refused]} end
        local short = budgets_check(n, b, m)
        if short then return {2, unpack(short)} end
        limits_take(0, 1, n, used)
        budgets_hold(n, b, m)
        return {0, unpack(used)}
        """;

    // KEYS: per account, the hash and holds the call reserved on, and the hash of the current period it is charged to.
    // ARGV: call, released, last (1: all of the hold), cost; per account: ttl s (0: none). Returns each account's spend after.
    public const string SettleScript = """
        local call, released, last, cost = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1', tonumber(ARGV[4])
        local spent = {}
        for i = 1, #KEYS / 3 do
          local key, holds, charged, ttl = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i], tonumber(ARGV[4 + i])
          local held = tonumber(redis.call('HGET', key, 'h:' .. call) or '-1')
          if held >= 0 then
            local release = last and held or math.min(released, held)
            redis.call('HINCRBY', key, 'r', -release)
            if last or held <= release then
              redis.call('HDEL', key, 'h:' .. call)
              redis.call('ZREM', holds, call)
            else
              redis.call('HSET', key, 'h:' .. call, held - release)
            end
          end
          spent[i] = redis.call('HINCRBY', charged, 's', cost)
          if ttl > 0 then redis.call('EXPIRE', charged, ttl) end
        end
        return spent
        """;

    // KEYS: windows to correct and slots to free. ARGV: call; per key: kind (w or c), delta for a window.
    public const string GiveBackScript = """
        for i = 1, #KEYS do
          if ARGV[2 * i] == 'c' then
            redis.call('ZREM', KEYS[i], ARGV[1])
          elseif redis.call('EXISTS', KEYS[i]) == 1 and redis.call('INCRBY', KEYS[i], ARGV[2 * i + 1]) < 0 then
            redis.call('SET', KEYS[i], 0, 'KEEPTTL')
          end
        end
        return 0
        """;
}

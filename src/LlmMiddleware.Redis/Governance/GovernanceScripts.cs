namespace LlmMiddleware.Redis;

/// <summary>
/// The Lua scripts budgets and limits run in Redis: each checks and changes all of a call's keys atomically, in one
/// round trip. Keys share the governance hash tag, so a script's keys are on one node of a cluster.
/// </summary>
internal static class GovernanceScripts
{
    // KEYS: per account, its hash (s: spent, r: held, h:<call>: a call's hold) and its holds' deadlines (a sorted set).
    // ARGV: now ms, hold deadline ms, call, amount; per account: limit, ttl s (0: none).
    public const string ReserveScript = """
        local now, deadline, call, amount = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
        local n = #KEYS / 2
        for i = 1, n do
          local key, holds = KEYS[2 * i - 1], KEYS[2 * i]
          for _, lapsed in ipairs(redis.call('ZRANGEBYSCORE', holds, '-inf', now)) do
            redis.call('HINCRBY', key, 'r', -tonumber(redis.call('HGET', key, 'h:' .. lapsed) or '0'))
            redis.call('HDEL', key, 'h:' .. lapsed)
          end
          redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
          local s = tonumber(redis.call('HGET', key, 's') or '0')
          local r = tonumber(redis.call('HGET', key, 'r') or '0')
          local limit = tonumber(ARGV[3 + 2 * i])
          if s >= limit or s + r + amount > limit then return {i, s, r} end
        end
        for i = 1, n do
          local key, holds, ttl = KEYS[2 * i - 1], KEYS[2 * i], tonumber(ARGV[4 + 2 * i])
          redis.call('HINCRBY', key, 'r', amount)
          redis.call('HSET', key, 'h:' .. call, amount)
          redis.call('ZADD', holds, deadline, call)
          if ttl > 0 then redis.call('EXPIRE', key, ttl) redis.call('EXPIRE', holds, ttl) end
        end
        return {0}
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

    // KEYS: a minute window's counter, or a concurrency limit's slots (calls by deadline). ARGV: now ms, call, slot
    // deadline ms, window ttl s; per key: kind (w or c), amount, limit. Returns {0, used after...} or {refusing key, used}.
    public const string TakeScript = """
        local now, call, deadline, ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
        local used = {}
        for i = 1, #KEYS do
          local amount, limit = tonumber(ARGV[3 + 3 * i]), tonumber(ARGV[4 + 3 * i])
          if ARGV[2 + 3 * i] == 'c' then
            redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
            used[i] = redis.call('ZCARD', KEYS[i])
          else
            used[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
          end
          if used[i] + amount > limit then return {i, used[i]} end
        end
        for i = 1, #KEYS do
          local amount = tonumber(ARGV[3 + 3 * i])
          if ARGV[2 + 3 * i] == 'c' then
            redis.call('ZADD', KEYS[i], deadline, call)
            redis.call('PEXPIREAT', KEYS[i], deadline)
          else
            redis.call('INCRBY', KEYS[i], amount)
            redis.call('EXPIRE', KEYS[i], ttl)
          end
          used[i] = used[i] + amount
        end
        return {0, unpack(used)}
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

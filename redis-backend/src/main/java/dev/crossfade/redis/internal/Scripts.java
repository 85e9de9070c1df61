package dev.crossfade.redis.internal;

/**
 * The Lua scripts. Each runs atomically in Redis, which is what makes the multi-step moves safe against several
 * processes doing the same thing at once and against a process dying half-way (a script either ran or did not).
 *
 * <p>Some scripts build key names from a prefix argument (the queue a job names is only known inside the script).
 * That is fine on a single Redis, which is all Sidekiq supports, but is not Redis Cluster safe.
 */
public final class Scripts {
    private Scripts() {
    }

    /**
     * Reliable batch fetch. KEYS: queue1, inprogress1, queue2, inprogress2, ...; ARGV[1]: most jobs to move.
     * Moves from the right end of each queue (Sidekiq pushes left, pops right) to the left of its in-progress list,
     * queue by queue in the order given. Returns a flat list: queue index (1-based), payload, queue index, payload...
     */
    public static final LuaScript FETCH = new LuaScript("fetch", """
            local max = tonumber(ARGV[1])
            local out = {}
            local n = 0
            for i = 1, #KEYS, 2 do
              while n < max do
                local job = redis.call('LMOVE', KEYS[i], KEYS[i + 1], 'RIGHT', 'LEFT')
                if not job then break end
                n = n + 1
                out[#out + 1] = (i + 1) / 2
                out[#out + 1] = job
              end
              if n >= max then break end
            end
            return out
            """);

    /**
     * Promotes due jobs from a sorted set (schedule or retry) to their queues. KEYS[1]: the sorted set, KEYS[2]: the
     * {@code queues} set; ARGV: now (epoch seconds), limit, key prefix. ZRANGEBYSCORE, ZREM and LPUSH in one script:
     * pollers in several processes can never promote a job twice nor drop one. Returns the number promoted.
     */
    public static final LuaScript PROMOTE = new LuaScript("promote", """
            local jobs = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
            local moved = 0
            for _, job in ipairs(jobs) do
              if redis.call('ZREM', KEYS[1], job) == 1 then
                local q = 'default'
                local ok, decoded = pcall(cjson.decode, job)
                if ok and type(decoded) == 'table' and type(decoded['queue']) == 'string' and decoded['queue'] ~= '' then
                  q = decoded['queue']
                end
                redis.call('SADD', KEYS[2], q)
                redis.call('LPUSH', ARGV[3] .. 'queue:' .. q, job)
                moved = moved + 1
              end
            end
            return moved
            """);

    /**
     * Acknowledges a failed attempt by scheduling its retry. KEYS[1]: retry set, KEYS[2]: in-progress list; ARGV: due
     * (epoch seconds), new payload, fetched payload. Writes the retry only if this process still owned the job: if it
     * was recovered by another process meanwhile, that copy runs and this outcome is dropped (no double retry). A
     * retry set of the wrong type is refused before anything is written: a script that fails half-way keeps its
     * earlier writes, and the job would be gone from the in-progress list without being anywhere else.
     */
    public static final LuaScript RETRY = new LuaScript("retry", """
            local t = redis.call('TYPE', KEYS[1])['ok']
            if t ~= 'zset' and t ~= 'none' then
              return redis.error_reply('WRONGTYPE ' .. KEYS[1] .. ' is a ' .. t .. ', not a sorted set')
            end
            if redis.call('LREM', KEYS[2], 1, ARGV[3]) == 1 then
              redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
              return 1
            end
            return 0
            """);

    /**
     * Acknowledges a job as dead. KEYS[1]: dead set, KEYS[2]: list the job is held in; ARGV: now, dead payload, held
     * payload, oldest score kept, max entries. Trims the dead set by age and size as Sidekiq's {@code DeadSet#kill}
     * does (keeping exactly max entries, where Sidekiq keeps one fewer). Like {@link #RETRY}, refuses a dead set of
     * the wrong type before writing anything.
     */
    public static final LuaScript DEAD = new LuaScript("dead", """
            local t = redis.call('TYPE', KEYS[1])['ok']
            if t ~= 'zset' and t ~= 'none' then
              return redis.error_reply('WRONGTYPE ' .. KEYS[1] .. ' is a ' .. t .. ', not a sorted set')
            end
            if redis.call('LREM', KEYS[2], 1, ARGV[3]) == 1 then
              redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
              redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
              redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[5]) - 1)
              return 1
            end
            return 0
            """);

    /**
     * Returns an unfinished job to the front (right end) of its queue at shutdown. KEYS[1]: in-progress list, KEYS[2]:
     * queue; ARGV[1]: payload. Only if it is still in progress, so it is never both acknowledged and requeued.
     */
    public static final LuaScript REQUEUE = new LuaScript("requeue", """
            if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
              redis.call('RPUSH', KEYS[2], ARGV[1])
              return 1
            end
            return 0
            """);

    /**
     * Recovers the in-progress list of a dead process. KEYS[1]: in-progress list, KEYS[2]: queue, KEYS[3]: recoveries
     * hash, KEYS[4]: poison list; ARGV: max recoveries, recoveries TTL (seconds). Each job goes back to the front of its
     * queue unless it has now been recovered max times, in which case it goes to the poison list (and from there to
     * the dead set): a job that kills its worker every time must not take the whole fleet down one process at a time.
     * Returns {requeued, poisoned}.
     */
    public static final LuaScript RECOVER = new LuaScript("recover", """
            local max = tonumber(ARGV[1])
            local requeued, poisoned = 0, 0
            while true do
              local job = redis.call('RPOP', KEYS[1])
              if not job then break end
              local id
              local ok, decoded = pcall(cjson.decode, job)
              if ok and type(decoded) == 'table' and type(decoded['jid']) == 'string' then
                id = decoded['jid']
              else
                id = 'sha1:' .. redis.sha1hex(job)
              end
              local n = redis.call('HINCRBY', KEYS[3], id, 1)
              redis.call('EXPIRE', KEYS[3], tonumber(ARGV[2]))
              if n >= max then
                redis.call('LPUSH', KEYS[4], job)
                redis.call('HDEL', KEYS[3], id)
                poisoned = poisoned + 1
              else
                redis.call('RPUSH', KEYS[2], job)
                requeued = requeued + 1
              end
            end
            return {requeued, poisoned}
            """);

    /**
     * Forgets a dead process once its lists are recovered, unless it came back meanwhile. KEYS[1]: beats zset,
     * KEYS[2]: fetch-queues hash; ARGV: identity, cutoff score.
     */
    public static final LuaScript FORGET = new LuaScript("forget", """
            local beat = redis.call('ZSCORE', KEYS[1], ARGV[1])
            if beat and tonumber(beat) <= tonumber(ARGV[2]) then
              redis.call('ZREM', KEYS[1], ARGV[1])
              redis.call('HDEL', KEYS[2], ARGV[1])
              return 1
            end
            return 0
            """);
}

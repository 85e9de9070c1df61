package dev.crossfade.redis.internal;

/**
 * The Lua scripts. Each runs atomically in Redis, which is what makes the multi-step moves safe against several
 * processes doing the same thing at once and against a process dying half-way (a script either ran or did not).
 *
 * <p>Some scripts build key names from a prefix argument (the queue a job names is only known inside the script).
 * That is fine on a single Redis, which is all Sidekiq supports, but is not Redis Cluster safe.
 */
final class Scripts {
    private Scripts() {}

    /**
     * Reliable batch fetch. KEYS: queue1, inprogress1, queue2, inprogress2, ...; ARGV[1]: most jobs to move.
     * Moves from the right end of each queue (Sidekiq pushes left, pops right) to the left of its in-progress list,
     * queue by queue in the order given, leaving both lists as that many {@code LMOVE queue inprogress RIGHT LEFT}
     * would. It takes a queue's share with one {@code LRANGE}, one {@code LTRIM} and {@code LPUSH}es of up to 1,000
     * jobs (within Lua's unpack limit) rather than a command per job, so that Redis's cost per command is paid per
     * batch. The push comes before the trim: an in-progress key of the wrong type fails the script before it has
     * written anything, where a trim first would drop the jobs. Returns a flat list, oldest job first: queue index (1-based), payload, queue index, payload...
     */
    static final LuaScript FETCH = new LuaScript("fetch", """
            local max = tonumber(ARGV[1])
            local out = {}
            local n = 0
            for i = 1, #KEYS, 2 do
              if n >= max then break end
              local jobs = redis.call('LRANGE', KEYS[i], -(max - n), -1)
              local got = #jobs
              if got > 0 then
                local q = (i + 1) / 2
                local moved = {}
                for k = got, 1, -1 do
                  moved[#moved + 1] = jobs[k]
                  out[#out + 1] = q
                  out[#out + 1] = jobs[k]
                end
                for from = 1, got, 1000 do
                  redis.call('LPUSH', KEYS[i + 1], unpack(moved, from, math.min(from + 999, got)))
                end
                redis.call('LTRIM', KEYS[i], 0, -got - 1)
                n = n + got
              end
            end
            return out
            """);

    /**
     * Promotes due jobs from a sorted set (schedule or retry) to their queues. KEYS[1]: the sorted set, KEYS[2]: the
     * {@code queues} set; ARGV: now (epoch seconds), limit, key prefix. ZRANGEBYSCORE, ZREM and LPUSH in one script:
     * pollers in several processes can never promote a job twice nor drop one. Returns the number promoted.
     */
    static final LuaScript PROMOTE = new LuaScript("promote", """
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
    static final LuaScript RETRY = new LuaScript("retry", """
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
    static final LuaScript DEAD = new LuaScript("dead", """
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
    static final LuaScript REQUEUE = new LuaScript("requeue", """
            if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
              redis.call('RPUSH', KEYS[2], ARGV[1])
              return 1
            end
            return 0
            """);

    /**
     * The Lua function both recovery scripts use: {@code recover(list, queue, recoveries, poison, max, ttl)} empties an
     * in-progress list. Each job goes back to the front of its queue unless it has now been recovered {@code max}
     * times, in which case it goes to the poison list (and from there to the dead set): a job that kills its worker
     * every time must not take the whole fleet down one process at a time. Returns requeued, poisoned.
     */
    private static final String RECOVER_LIST = """
            local function recover(list, queue, recoveries, poison, max, ttl)
              local requeued, poisoned = 0, 0
              while true do
                local job = redis.call('RPOP', list)
                if not job then break end
                local id
                local ok, decoded = pcall(cjson.decode, job)
                if ok and type(decoded) == 'table' and type(decoded['jid']) == 'string' then
                  id = decoded['jid']
                else
                  id = 'sha1:' .. redis.sha1hex(job)
                end
                local n = redis.call('HINCRBY', recoveries, id, 1)
                redis.call('EXPIRE', recoveries, ttl)
                if n >= max then
                  redis.call('LPUSH', poison, job)
                  redis.call('HDEL', recoveries, id)
                  poisoned = poisoned + 1
                else
                  redis.call('RPUSH', queue, job)
                  requeued = requeued + 1
                end
              end
              return requeued, poisoned
            end
            """;

    /**
     * One heartbeat's registration, timed by the Redis server's clock so that no JVM clock decides who is dead.
     * KEYS[1]: beats zset, KEYS[2]: fetch-queues hash, KEYS[3]: this process's liveness key, KEYS[4]: its recovery
     * mark; ARGV: identity, queues JSON, liveness TTL (ms). Returns {was registered (1/0), server seconds, server
     * microseconds, recovered by a peer (1/0)}. Registered before but not now means either that a peer recovered this
     * process's lists (the peer left the mark) or that Redis lost the registration (restarted without its data).
     */
    static final LuaScript BEAT = new LuaScript("beat", """
            if redis.replicate_commands then pcall(redis.replicate_commands) end
            local t = redis.call('TIME')
            local was = redis.call('ZSCORE', KEYS[1], ARGV[1])
            local recovered = redis.call('DEL', KEYS[4])
            redis.call('ZADD', KEYS[1], t[1] .. '.' .. string.format('%06d', tonumber(t[2])), ARGV[1])
            redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
            redis.call('SET', KEYS[3], t[1], 'PX', ARGV[3])
            return {was and 1 or 0, t[1], t[2], recovered}
            """);

    /**
     * Recovers a worker process if, and only if, it is dead: its liveness key has expired and its last beat (server
     * time) is older than the TTL. Judging and recovering in one script means two processes can never both recover
     * the same list, and a process that beats in between is never recovered. Pushes every job in its in-progress lists
     * back (see {@link #RECOVER_LIST}), forgets its registration and leaves it a mark that says so, for {@link #BEAT}.
     * KEYS[1]: beats zset, KEYS[2]: fetch-queues hash, KEYS[3]: its liveness key, KEYS[4]: recoveries hash, KEYS[5]:
     * poison list, KEYS[6]: its recovery mark; ARGV: identity, TTL (seconds), key
     * prefix, max recoveries, recoveries TTL (seconds). Returns {0} if alive (or already recovered by another process),
     * else {1, queue, requeued, poisoned, ...}.
     * A queue list it cannot read is forgotten with the registration; the orphan sweep finds those lists.
     */
    static final LuaScript RECOVER_PROCESS = new LuaScript("recover-process", RECOVER_LIST + """
            if redis.replicate_commands then pcall(redis.replicate_commands) end
            if redis.call('EXISTS', KEYS[3]) == 1 then return {0} end
            local t = redis.call('TIME')
            local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
            local beat = redis.call('ZSCORE', KEYS[1], ARGV[1])
            if not beat or tonumber(beat) > now - tonumber(ARGV[2]) then return {0} end
            local out = {1}
            local json = redis.call('HGET', KEYS[2], ARGV[1])
            if json then
              local ok, queues = pcall(cjson.decode, json)
              if ok and type(queues) == 'table' then
                for _, q in ipairs(queues) do
                  if type(q) == 'string' then
                    local r, p = recover(ARGV[3] .. 'crossfade:inprogress:' .. ARGV[1] .. '|' .. q,
                        ARGV[3] .. 'queue:' .. q, KEYS[4], KEYS[5], tonumber(ARGV[4]), tonumber(ARGV[5]))
                    out[#out + 1] = q
                    out[#out + 1] = r
                    out[#out + 1] = p
                  end
                end
              end
            end
            redis.call('ZREM', KEYS[1], ARGV[1])
            redis.call('HDEL', KEYS[2], ARGV[1])
            redis.call('SET', KEYS[6], '1', 'EX', tonumber(ARGV[5]))
            return out
            """);

    /**
     * Recovers an in-progress list whose owner is gone from the registry entirely (forgotten with a queue list that
     * could not be read, or removed by hand) and has no liveness key: nobody would ever recover it otherwise. KEYS[1]:
     * the list, KEYS[2]: its queue, KEYS[3]: beats zset, KEYS[4]: the owner's liveness key, KEYS[5]: recoveries hash,
     * KEYS[6]: poison list; ARGV: owner identity, max recoveries, recoveries TTL (seconds). Returns {-1, 0} when the
     * owner is registered or alive (the dead-process path handles it), else {requeued, poisoned}.
     */
    static final LuaScript RECOVER_ORPHAN = new LuaScript("recover-orphan", RECOVER_LIST + """
            if redis.call('ZSCORE', KEYS[3], ARGV[1]) or redis.call('EXISTS', KEYS[4]) == 1 then return {-1, 0} end
            local r, p = recover(KEYS[1], KEYS[2], KEYS[5], KEYS[6], tonumber(ARGV[2]), tonumber(ARGV[3]))
            return {r, p}
            """);
}

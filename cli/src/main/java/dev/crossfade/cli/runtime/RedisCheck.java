package dev.crossfade.cli.runtime;

import dev.crossfade.api.Backend;
import dev.crossfade.redis.RedisAdmin;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Reads Redis's queue sizes and the scheduled, retry and dead sets: a handful of cheap commands. */
final class RedisCheck implements BackendCheck {
    private final RedisAdmin admin;
    private final String address;
    private final Set<String> queues;

    RedisCheck(RedisAdmin admin, String address, Set<String> queues) {
        this.admin = admin;
        this.address = address;
        this.queues = queues;
    }

    @Override
    public Backend backend() {
        return Backend.REDIS;
    }

    @Override
    public String address() {
        return address;
    }

    @Override
    public Map<String, Object> read() {
        Map<String, Long> sizes = admin.queueSizes();
        Map<String, Object> q = new LinkedHashMap<>();
        for (String name : queues) {
            q.put(name, sizes.getOrDefault(name, 0L));
        }
        sizes.forEach(q::putIfAbsent);
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("queues", q);
        facts.put("scheduled", admin.scheduledSize());
        facts.put("retry", admin.retrySize());
        facts.put("dead", admin.deadSize());
        return facts;
    }

    @Override
    public void close() {
        // The node owns the Redis client.
    }
}

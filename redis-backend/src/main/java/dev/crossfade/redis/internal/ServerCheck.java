package dev.crossfade.redis.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Checks the server settings a job queue depends on. The one that matters is {@code maxmemory-policy}: under any policy
 * but {@code noeviction}, Redis deletes keys when it runs out of memory, and a deleted queue, retry set or in-progress
 * list is lost jobs, silently. (Sidekiq warns about this too.) Managed services often disable {@code CONFIG}; that
 * is tolerated with a note, since nothing can be checked.
 */
public final class ServerCheck {
    private static final Logger log = LoggerFactory.getLogger(ServerCheck.class);

    private ServerCheck() {}

    /** @return problems found, each a full sentence; empty when all is well or nothing could be checked */
    public static List<String> problems(UnifiedJedis redis, String where) {
        List<String> problems = new ArrayList<>();
        Map<String, String> reply;
        try {
            reply = redis.configGet("maxmemory-policy");
        } catch (JedisDataException e) {
            log.info(
                    "cannot read maxmemory-policy from Redis at {} (CONFIG is disabled or renamed: {}); make sure "
                            + "it is noeviction, or evicted keys will be lost jobs",
                    where,
                    e.getMessage());
            return problems;
        }
        String policy = reply.get("maxmemory-policy");
        if (policy != null && !"noeviction".equalsIgnoreCase(policy)) {
            problems.add("Redis at " + where + " has maxmemory-policy '" + policy + "': when it fills up it will "
                    + "evict keys, and an evicted queue, retry set or in-progress list means lost jobs. Set "
                    + "'maxmemory-policy noeviction' (Sidekiq requires it too).");
        }
        return problems;
    }
}

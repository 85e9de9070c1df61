package dev.crossfade.redis;

import dev.crossfade.api.execution.TwinMarks;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.XAddParams;

/**
 * Twin marks in a Redis stream ({@code <namespace>crossfade:twins}), one entry per marked batch with the jids as its
 * fields. Every {@link RedisRunGuard} follows the stream, so a mark costs one {@code XADD} however many worker
 * processes there are, and nothing at all is written for jobs that are never marked. Entries older than the run-once
 * memory are trimmed as new ones arrive.
 */
final class RedisTwinMarks implements TwinMarks {
    private final UnifiedJedis redis;
    private final String stream;
    private final Duration memory;

    RedisTwinMarks(UnifiedJedis redis, String stream, Duration memory) {
        this.redis = redis;
        this.stream = stream;
        this.memory = memory;
    }

    @Override
    public void mark(Collection<String> jids) {
        if (jids.isEmpty()) {
            return;
        }
        Map<String, String> fields = new LinkedHashMap<>();
        for (String jid : jids) {
            fields.put(jid, "1");
        }
        long oldest = System.currentTimeMillis() - memory.toMillis();
        redis.xadd(
                stream,
                XAddParams.xAddParams()
                        .minId(Long.toString(Math.max(0, oldest)))
                        .approximateTrimming(),
                fields);
    }
}

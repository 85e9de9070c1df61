package dev.crossfade.redis;

import dev.crossfade.api.execution.TwinMarks;
import dev.crossfade.redis.internal.Failover;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.StreamEntryID;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.XAddParams;

/**
 * Twin marks in a Redis stream ({@code <namespace>crossfade:twins}), one entry per marked batch with the jids as its
 * fields. Every {@link RedisRunGuard} follows the stream, so a mark costs one {@code XADD} however many worker
 * processes there are, and nothing at all is written for jobs that are never marked. Entries older than the run-once
 * memory are trimmed as new ones arrive.
 *
 * <p>With {@code waitReplicas}, the {@code XADD} is followed by {@code WAIT} on the same connection, as an enqueue is;
 * when fewer replicas acknowledge it in time, {@link #mark} throws {@link TwinMarks.Unconfirmed}: the mark is on the
 * master (every guard reading it sees it), but a failover before a replica has it would lose it.
 */
final class RedisTwinMarks implements TwinMarks {
    private final UnifiedJedis redis;
    private final String stream;
    private final Duration memory;
    private final Failover failover;

    RedisTwinMarks(UnifiedJedis redis, String stream, Duration memory, Failover failover) {
        this.redis = redis;
        this.stream = stream;
        this.memory = memory;
        this.failover = failover;
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
        try (AbstractPipeline p = redis.pipelined()) {
            Response<StreamEntryID> added = p.xadd(
                    stream,
                    XAddParams.xAddParams()
                            .minId(Long.toString(Math.max(0, oldest)))
                            .approximateTrimming(),
                    fields);
            Response<Long> waited = failover.request(p);
            p.sync();
            added.get();
            try {
                failover.check(waited);
            } catch (Failover.NotReplicated e) {
                throw new TwinMarks.Unconfirmed(
                        "twin mark of " + jids.size() + " job(s) in " + stream + " is on the master only: "
                                + e.getMessage(),
                        e);
            }
        }
    }
}

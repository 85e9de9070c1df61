package dev.crossfade.cli.runtime;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.api.worker.UnknownWorkerException;
import dev.crossfade.redis.RedisBackend;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.UnifiedJedis;

/**
 * Counts, per queue and class, jobs that a Java worker fetched but no registered worker knows (in a mixed fleet, jobs
 * only Ruby can run), in Redis ({@code <namespace>:crossfade:unknown-classes:<queue>}, kept a day after the last one),
 * so {@code status} and the dashboard of any process can warn that the queue should be split.
 */
public final class UnknownClasses implements ExecutionListener {
    private static final Logger log = LoggerFactory.getLogger(UnknownClasses.class);
    private static final Duration KEEP = Duration.ofDays(1);

    private final UnifiedJedis redis;
    private final String prefix;

    /** Counts in this backend's Redis, under its namespace. */
    public UnknownClasses(RedisBackend backend) {
        this.redis = backend.redis();
        this.prefix = backend.key("crossfade:unknown-classes:");
    }

    @Override
    public void finished(Job job, Backend backend, Outcome outcome, Instant startedAt, Duration duration) {
        Throwable error = outcome instanceof Outcome.Retry r
                ? r.error()
                : outcome instanceof Outcome.Dead d
                        ? d.error()
                        : outcome instanceof Outcome.Discarded d ? d.error() : null;
        if (!(error instanceof UnknownWorkerException) || job.shadow()) {
            return;
        }
        String key = prefix + job.queue();
        try (AbstractPipeline p = redis.pipelined()) {
            p.hincrBy(key, job.className(), 1);
            p.expire(key, KEEP.toSeconds());
            p.sync();
        } catch (RuntimeException e) {
            log.debug("cannot count unknown class {} on queue {}: {}", job.className(), job.queue(), e.toString());
        }
    }

    /** Per queue with any, the unknown classes fetched in the last day and how many jobs of each. */
    public Map<String, Map<String, Long>> read(Collection<String> queues) {
        Map<String, Map<String, Long>> out = new LinkedHashMap<>();
        for (String q : queues) {
            Map<String, String> counts = redis.hgetAll(prefix + q);
            if (!counts.isEmpty()) {
                Map<String, Long> byClass = new TreeMap<>();
                counts.forEach((c, n) -> byClass.put(c, Long.parseLong(n)));
                out.put(q, byClass);
            }
        }
        return out;
    }

    /** One warning line for a queue, naming what to do. */
    public static String warning(String queue, Map<String, Long> byClass) {
        long total = byClass.values().stream().mapToLong(Long::longValue).sum();
        return "queue '" + queue + "': " + total + " job(s) in the last day of classes no Java worker knows ("
                + String.join(", ", byClass.keySet()) + "); they went back to their retry policy for Ruby. Give "
                + "those classes their own queue that only Ruby works (migration-guide.md, \"Mixed fleets\")";
    }
}

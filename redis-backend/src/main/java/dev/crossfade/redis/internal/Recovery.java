package dev.crossfade.redis.internal;

import dev.crossfade.redis.RedisBackendConfig;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * Recovers the in-progress jobs of worker processes that died, so that reliable fetch never loses a job: a process is
 * dead when its liveness key has expired and its last beat, in Redis server time, is older than the recovery timeout.
 * Both are judged by Redis, inside the script that recovers, so neither a JVM's clock nor a race with a late beat can
 * make a live process look dead. A periodic sweep also recovers lists whose owner is gone from the registry entirely.
 *
 * <p>Only a process that has beaten without a break for at least the recovery timeout should call these (the
 * {@link Launcher} sees to it): right after an outage every peer's liveness key has expired, and the peers need that
 * long to beat again.
 */
public final class Recovery {
    private static final Logger log = LoggerFactory.getLogger(Recovery.class);
    /** Recovery counts are kept this long after a job's last recovery. */
    private static final long RECOVERIES_TTL_SECONDS = 7 * 24 * 3600;

    private final UnifiedJedis redis;
    private final Keys keys;
    private final String identity;
    private final RedisBackendConfig config;
    private final RedisMetrics metrics;

    public Recovery(UnifiedJedis redis, Keys keys, String identity, RedisBackendConfig config, RedisMetrics metrics) {
        this.redis = redis;
        this.keys = keys;
        this.identity = identity;
        this.config = config;
        this.metrics = metrics;
    }

    /**
     * Recovers every registered process whose last beat is older than the recovery timeout and whose liveness key has
     * expired, pushing its in-progress jobs back to their queues (or, after too many recoveries, to the poison list).
     *
     * @param serverNowSeconds the Redis server's time, as the last heartbeat read it
     * @return jobs requeued
     */
    public long recoverDead(double serverNowSeconds) {
        double ttl = config.recoveryTimeout().toMillis() / 1000.0;
        List<String> candidates = redis.zrangeByScore(keys.beats(), Double.NEGATIVE_INFINITY, serverNowSeconds - ttl);
        long total = 0;
        for (String other : candidates) {
            if (other.equals(identity)) {
                continue;
            }
            List<?> reply = (List<?>) Scripts.RECOVER_PROCESS.eval(
                    redis,
                    List.of(
                            Keys.bytes(keys.beats()),
                            Keys.bytes(keys.fetchQueues()),
                            Keys.bytes(keys.alive(other)),
                            Keys.bytes(keys.recoveries()),
                            Keys.bytes(keys.poison()),
                            Keys.bytes(keys.recovered(other))),
                    List.of(
                            Keys.bytes(other),
                            Keys.bytes(Keys.num(ttl)),
                            Keys.bytes(keys.prefix()),
                            Keys.bytes(Integer.toString(config.maxRecoveries())),
                            Keys.bytes(Long.toString(RECOVERIES_TTL_SECONDS))));
            if ((Long) reply.get(0) == 0L) {
                continue; // it beat again, or its liveness key has not expired yet: alive
            }
            long requeued = 0;
            long poisoned = 0;
            for (int i = 1; i + 2 < reply.size(); i += 3) {
                String q = new String((byte[]) reply.get(i), StandardCharsets.UTF_8);
                long rq = (Long) reply.get(i + 1);
                long pz = (Long) reply.get(i + 2);
                metrics.count("recovered", q, rq);
                metrics.count("poisoned", q, pz);
                requeued += rq;
                poisoned += pz;
            }
            if (requeued + poisoned > 0) {
                log.warn(
                        "recovered worker process {} (no heartbeat for over {} s): {} in-progress job(s) pushed back "
                                + "to their queues, {} sent to the dead set as poison pills",
                        other,
                        config.recoveryTimeout().toSeconds(),
                        requeued,
                        poisoned);
            } else {
                log.info("forgot dead worker process {}: it held no in-progress jobs", other);
            }
            total += requeued;
        }
        return total;
    }

    /**
     * Recovers in-progress lists whose owner is neither registered nor alive (forgotten with a queue list that could
     * not be read, or removed by hand): without this nobody would ever look at them again. Scans the keyspace, so it
     * runs once per recovery timeout, not on every beat.
     *
     * @return jobs requeued
     */
    public long sweepOrphanedLists() {
        String listPrefix = keys.inProgressPrefix();
        ScanParams params = new ScanParams().match(globEscape(listPrefix) + "*").count(1_000);
        String cursor = ScanParams.SCAN_POINTER_START;
        long total = 0;
        do {
            ScanResult<String> page = redis.scan(cursor, params);
            for (String list : page.getResult()) {
                String rest = list.substring(listPrefix.length());
                int bar = rest.indexOf('|');
                if (bar <= 0 || bar == rest.length() - 1) {
                    continue;
                }
                String owner = rest.substring(0, bar);
                String queue = rest.substring(bar + 1);
                if (owner.equals(identity)) {
                    continue;
                }
                List<?> reply = (List<?>) Scripts.RECOVER_ORPHAN.eval(
                        redis,
                        List.of(
                                Keys.bytes(list),
                                Keys.bytes(keys.queue(queue)),
                                Keys.bytes(keys.beats()),
                                Keys.bytes(keys.alive(owner)),
                                Keys.bytes(keys.recoveries()),
                                Keys.bytes(keys.poison())),
                        List.of(
                                Keys.bytes(owner),
                                Keys.bytes(Integer.toString(config.maxRecoveries())),
                                Keys.bytes(Long.toString(RECOVERIES_TTL_SECONDS))));
                long requeued = (Long) reply.get(0);
                long poisoned = (Long) reply.get(1);
                if (requeued < 0) {
                    continue;
                }
                metrics.count("recovered", queue, requeued);
                metrics.count("poisoned", queue, poisoned);
                if (requeued + poisoned > 0) {
                    log.warn(
                            "recovered {} job(s) from the in-progress list of {} on queue '{}', a process that is "
                                    + "no longer registered ({} sent to the dead set as poison pills)",
                            requeued + poisoned,
                            owner,
                            queue,
                            poisoned);
                }
                total += requeued;
            }
            cursor = page.getCursor();
        } while (!ScanParams.SCAN_POINTER_START.equals(cursor));
        return total;
    }

    /** A literal for a SCAN MATCH pattern: the namespace may contain glob characters. */
    static String globEscape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }
}

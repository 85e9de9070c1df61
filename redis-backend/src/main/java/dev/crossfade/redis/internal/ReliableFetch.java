package dev.crossfade.redis.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.redis.RedisBackendConfig;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.args.ListDirection;

/**
 * Reliable fetch, in the spirit of Sidekiq Pro's super_fetch: a job is never only in a worker's memory. Fetching moves
 * it atomically ({@code LMOVE}) from {@code queue:<q>} to this process's in-progress list for that queue; it leaves
 * that list only when its outcome is written (success, retry or dead) or when a shutdown pushes it back. If the
 * process dies, the list survives in Redis and {@link Recovery} in another process pushes the jobs back.
 *
 * <p>Busy fetches move up to a batch of jobs in one Lua call; an idle fetcher blocks in {@code BLMOVE} on one queue
 * (a randomly chosen one, for a short while, when it serves several) so a new job starts within milliseconds without
 * polling Redis in a tight loop. Queues are tried in a random order each time, like Sidekiq's default.
 */
public final class ReliableFetch {
    private static final Logger log = LoggerFactory.getLogger(ReliableFetch.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Idle block per attempt when serving several queues, so the others are looked at again soon. */
    private static final double MULTI_QUEUE_BLOCK_SECONDS = 0.05;

    private final UnifiedJedis redis;
    private final Keys keys;
    private final String identity;
    private final List<String> queues;
    private final byte[][] queueKeys;
    private final byte[][] inProgressKeys;
    private final double blockSeconds;
    private final RedisBackendConfig config;
    private final RedisMetrics metrics;
    /**
     * The jobs this process knows are in its in-progress lists (fetched, not yet acknowledged or pushed back). Anything
     * else found there was moved by a fetch whose reply never arrived. By identity: adding and removing must not hash
     * payloads on every job's path; only a reclaim compares bytes.
     */
    private final Set<Fetched> held = ConcurrentHashMap.newKeySet();

    public ReliableFetch(
            UnifiedJedis redis,
            Keys keys,
            String identity,
            List<String> queues,
            RedisBackendConfig config,
            RedisMetrics metrics) {
        this.redis = redis;
        this.keys = keys;
        this.identity = identity;
        this.queues = List.copyOf(queues);
        this.config = config;
        this.metrics = metrics;
        this.queueKeys = new byte[queues.size()][];
        this.inProgressKeys = new byte[queues.size()][];
        for (int i = 0; i < queues.size(); i++) {
            queueKeys[i] = Keys.bytes(keys.queue(queues.get(i)));
            inProgressKeys[i] = Keys.bytes(keys.inProgress(identity, queues.get(i)));
        }
        double block = config.fetchBlockTimeout().toMillis() / 1000.0;
        long real = queues.stream().filter(q -> !Keys.isShadowQueue(q)).count();
        this.blockSeconds = real <= 1 ? block : Math.min(block, MULTI_QUEUE_BLOCK_SECONDS);
    }

    public List<String> queues() {
        return queues;
    }

    /** The JSON array of queue names recorded for this identity, so a recoverer knows which lists to look at. */
    public String queuesJson() {
        try {
            return JSON.writeValueAsString(queues);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Moves up to {@code max} jobs into the in-progress lists; when none is waiting, blocks up to the fetch block
     * timeout for one. May return an empty list.
     */
    public List<Fetched> fetch(int max) {
        long t0 = System.nanoTime();
        int n = queues.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        List<byte[]> scriptKeys = new ArrayList<>(2 * n);
        for (int i : order) {
            scriptKeys.add(queueKeys[i]);
            scriptKeys.add(inProgressKeys[i]);
        }
        Object reply = Scripts.FETCH.eval(redis, scriptKeys, List.of(Keys.bytes(Integer.toString(max))));
        List<?> flat = (List<?>) reply;
        List<Fetched> out = new ArrayList<>(flat.size() / 2);
        for (int k = 0; k + 1 < flat.size(); k += 2) {
            int idx = order[((Long) flat.get(k)).intValue() - 1];
            out.add(new Fetched(queues.get(idx), (byte[]) flat.get(k + 1), queueKeys[idx], inProgressKeys[idx]));
        }
        if (out.isEmpty()) {
            // Idle: block on a real queue only. Shadow copies are picked up by the next round's script, so a queue's
            // new jobs never wait behind a block on its shadow queue.
            int idx = order[0];
            for (int i : order) {
                if (!Keys.isShadowQueue(queues.get(i))) {
                    idx = i;
                    break;
                }
            }
            byte[] job = redis.blmove(
                    queueKeys[idx], inProgressKeys[idx], ListDirection.RIGHT, ListDirection.LEFT, blockSeconds);
            if (job != null) {
                out.add(new Fetched(queues.get(idx), job, queueKeys[idx], inProgressKeys[idx]));
            }
        }
        held.addAll(out);
        metrics.fetchLatency(System.nanoTime() - t0);
        return out;
    }

    /** A job left this process's in-progress list (its outcome was written, or it was pushed back). */
    public void released(Fetched f) {
        held.remove(f);
    }

    /**
     * Pushes back to the front of their queues the jobs in this process's in-progress lists that it does not hold:
     * those a fetch moved there when its reply was lost (the connection dropped after Redis ran the command). Without
     * this they would wait for this process to stop before anyone ran them. Call it from the fetching thread between
     * fetches, so that no fetch reply is in flight.
     *
     * @return how many jobs were pushed back
     */
    public int reclaimOrphans() {
        Map<ByteBuffer, Integer> mine = new HashMap<>();
        for (Fetched f : held) {
            mine.merge(ByteBuffer.wrap(f.payload), 1, Integer::sum);
        }
        int n = 0;
        for (int i = 0; i < queues.size(); i++) {
            Map<ByteBuffer, Integer> listed = new HashMap<>();
            for (byte[] p : redis.lrange(inProgressKeys[i], 0, -1)) {
                listed.merge(ByteBuffer.wrap(p), 1, Integer::sum);
            }
            for (Map.Entry<ByteBuffer, Integer> e : listed.entrySet()) {
                // An acknowledgement removes the payload from the list before releasing it, never after: a job being
                // acknowledged right now can only make the list look shorter than what is held, not longer.
                int orphans = e.getValue() - mine.getOrDefault(e.getKey(), 0);
                byte[] payload = e.getKey().array();
                for (int k = 0; k < orphans; k++) {
                    n += ((Long) Scripts.REQUEUE.eval(
                                    redis, List.of(inProgressKeys[i], queueKeys[i]), List.of(payload)))
                            .intValue();
                }
            }
        }
        return n;
    }

    /**
     * Pushes unfinished jobs back to the front (right end) of their queues, each only if still in progress, in one
     * pipeline. @return how many were pushed back
     */
    public int requeue(Collection<Fetched> jobs) {
        if (jobs.isEmpty()) {
            return 0;
        }
        Scripts.REQUEUE.load(redis);
        List<Response<Object>> replies = new ArrayList<>(jobs.size());
        try (AbstractPipeline p = redis.pipelined()) {
            for (Fetched f : jobs) {
                replies.add(Scripts.REQUEUE.eval(p, List.of(f.inProgressKey, f.queueKey), List.of(f.payload)));
            }
            p.sync();
        }
        int n = 0;
        for (Response<Object> reply : replies) {
            n += ((Long) reply.get()).intValue();
        }
        jobs.forEach(this::released);
        return n;
    }

    /** Jobs currently in this process's in-progress lists (fetched, running, or acknowledged but not yet written). */
    public long inProgress() {
        long total = 0;
        for (byte[] key : inProgressKeys) {
            total += redis.llen(key);
        }
        return total;
    }
}

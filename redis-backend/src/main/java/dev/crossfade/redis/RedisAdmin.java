package dev.crossfade.redis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.api.Job;
import dev.crossfade.api.Transferred;
import dev.crossfade.api.codec.InvalidPayloadException;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.redis.internal.Keys;
import dev.crossfade.redis.internal.LuaScript;
import dev.crossfade.redis.internal.WireFormat;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;
import redis.clients.jedis.resps.Tuple;

/**
 * Operator reads and repairs over the Sidekiq keys: queue sizes, set sizes, and the dead set (list, retry, delete),
 * matching what Sidekiq's Web UI does so the CLI can offer the same. Thread-safe.
 */
public final class RedisAdmin {
    /** Moves one sorted-set member to a queue atomically: it is never both in the set and queued, nor neither. */
    private static final LuaScript MOVE_TO_QUEUE = new LuaScript("admin-move", """
            if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
              redis.call('SADD', KEYS[2], ARGV[3])
              redis.call('LPUSH', KEYS[3], ARGV[2])
              return 1
            end
            return 0
            """);

    private static final JobCodec CODEC =
            JobCodec.builder().maxPayloadBytes(Integer.MAX_VALUE).build();
    private static final ObjectMapper JSON = new ObjectMapper();

    private final UnifiedJedis redis;
    private final Keys keys;
    private final WireFormat wire;

    RedisAdmin(UnifiedJedis redis, Keys keys, WireFormat wire) {
        this.redis = redis;
        this.keys = keys;
        this.wire = wire;
    }

    /** Length of every queue listed in the {@code queues} set, by name. */
    public Map<String, Long> queueSizes() {
        List<String> names = new ArrayList<>(redis.smembers(keys.queues()));
        Map<String, Long> sizes = new TreeMap<>();
        List<Response<Long>> lens = new ArrayList<>();
        try (AbstractPipeline p = redis.pipelined()) {
            for (String q : names) {
                lens.add(p.llen(keys.queue(q)));
            }
            p.sync();
        }
        for (int i = 0; i < names.size(); i++) {
            sizes.put(names.get(i), lens.get(i).get());
        }
        return sizes;
    }

    public long scheduledSize() {
        return redis.zcard(keys.schedule());
    }

    public long retrySize() {
        return redis.zcard(keys.retry());
    }

    public long deadSize() {
        return redis.zcard(keys.dead());
    }

    /** The newest {@code limit} dead jobs, newest first. Entries that do not decode are skipped. */
    public List<Job> dead(int limit) {
        List<Job> out = new ArrayList<>();
        for (byte[] raw : redis.zrevrange(Keys.bytes(keys.dead()), 0, Math.max(0, limit - 1))) {
            try {
                out.add(CODEC.decode(raw));
            } catch (InvalidPayloadException ignored) {
                // Written by something else; the Web UI shows such entries raw, a typed list cannot.
            }
        }
        return out;
    }

    /**
     * Puts a dead job back on its queue, as the Web UI's Retry button does ({@code retry_count} minus one, so the
     * next failure counts like the last one). @return false when no dead job has that jid
     */
    public boolean retryDead(String jid) {
        Optional<byte[]> member = find(keys.dead(), jid);
        if (member.isEmpty()) {
            return false;
        }
        Job job = CODEC.decode(member.get());
        Job again = job.toBuilder()
                .retryCount(job.retryCount() == null ? null : job.retryCount() - 1)
                .enqueuedAt(java.time.Instant.now())
                .build();
        Object r = MOVE_TO_QUEUE.eval(
                redis,
                List.of(Keys.bytes(keys.dead()), Keys.bytes(keys.queues()), Keys.bytes(keys.queue(again.queue()))),
                List.of(member.get(), wire.unlimited().encode(again), Keys.bytes(again.queue())));
        return ((Long) r) == 1L;
    }

    /** Deletes a dead job. @return false when no dead job has that jid */
    public boolean deleteDead(String jid) {
        Optional<byte[]> member = find(keys.dead(), jid);
        return member.isPresent() && redis.zrem(Keys.bytes(keys.dead()), member.get()) == 1;
    }

    /**
     * Moves every job of {@code queue} out of Redis into {@code target} (e.g. a Kafka backend's queue): the pending
     * jobs, oldest first, in batches of 500, and the queue's scheduled and retry entries with their due times. At any
     * moment, a crash included, each job is still in Redis or accepted by the target, never neither; a crash can
     * leave one batch sent but not yet removed, and the next transfer of the queue sends it again (same jids).
     * Redis workers may keep running: they and the transfer take jobs atomically, each job once. Payloads that are not
     * jobs stay in the queue. The dead set is not moved.
     *
     * @throws IllegalStateException when the target refuses a job (the ones not yet sent stay in Redis) or another
     *     transfer of the queue is running
     */
    public Transferred transfer(String queue, dev.crossfade.api.JobQueue target) {
        java.util.Objects.requireNonNull(queue, "queue");
        java.util.Objects.requireNonNull(target, "target");
        return new QueueTransfer(redis, keys, CODEC, queue, target, 500).run();
    }

    /** Finds a member by jid as Sidekiq's {@code JobSet#find_job} does: ZSCAN matching the jid, then parse. */
    private Optional<byte[]> find(String set, String jid) {
        ScanParams params = new ScanParams().match(Keys.bytes("*" + jid + "*")).count(500);
        byte[] cursor = ScanParams.SCAN_POINTER_START_BINARY;
        do {
            ScanResult<Tuple> page = redis.zscan(Keys.bytes(set), cursor, params);
            for (Tuple t : page.getResult()) {
                try {
                    JsonNode n = JSON.readTree(t.getBinaryElement());
                    if (n != null && jid.equals(n.path("jid").asText(null))) {
                        return Optional.of(t.getBinaryElement());
                    }
                } catch (java.io.IOException ignored) {
                    // Not JSON: cannot be the job asked for.
                }
            }
            cursor = page.getCursorAsBytes();
        } while (!new String(cursor, StandardCharsets.US_ASCII).equals("0"));
        return Optional.empty();
    }
}

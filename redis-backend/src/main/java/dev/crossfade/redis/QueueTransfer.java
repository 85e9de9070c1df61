package dev.crossfade.redis;

import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.Transferred;
import dev.crossfade.api.codec.InvalidPayloadException;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.redis.internal.Keys;
import dev.crossfade.redis.internal.LuaScript;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.params.SetParams;
import redis.clients.jedis.resps.ScanResult;
import redis.clients.jedis.resps.Tuple;

/**
 * Moves one queue's jobs out of Redis into another {@link JobQueue} ({@link RedisAdmin#transfer}). Every step is an
 * atomic script, so at any moment (a crash included) each job is either still in Redis (its queue, its sorted set, or
 * the transfer's staging keys) or accepted by the target, never neither:
 *
 * <ol>
 *   <li>pending jobs move in batches from the front of {@code queue:<q>} to a staging list; the batch is sent to the
 *   target with one {@code enqueueAll}; only after its ack is the staging list deleted. If the target refuses, the
 *   batch goes back to the front of the queue in its order.</li>
 *   <li>scheduled and retry entries of the queue move one at a time from their sorted set to a staging sorted set
 *   (keeping the score, the due time), are sent with {@code enqueueAt(due)}, then removed from staging.</li>
 * </ol>
 * Staging keys a crashed transfer left behind are sent first by the next transfer of that queue, so a crash can cause a
 * duplicate on the target (same jid, which the router's run-once guard runs once) but never a loss. Workers may keep
 * running during a transfer: they and the transfer take jobs from the queue atomically, each job exactly once.
 */
final class QueueTransfer {
    /** Moves up to ARGV[1] jobs from the front of KEYS[1] to KEYS[2]; returns the staging list (newest first). */
    private static final LuaScript STAGE = new LuaScript("transfer-stage", """
            for i = 1, tonumber(ARGV[1]) do
              if not redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') then break end
            end
            return redis.call('LRANGE', KEYS[2], 0, -1)
            """);
    /**
     * The target acknowledged a batch: drop the staging list. Payloads that are not jobs (ARGV[2..]) go back to the end
     * of the queue, where a worker will dead-letter them as it would have anyway. KEYS: staging, queue, queues.
     */
    private static final LuaScript FINISH = new LuaScript("transfer-finish", """
            for i = 2, #ARGV do
              redis.call('LPUSH', KEYS[2], ARGV[i])
            end
            if #ARGV > 1 then redis.call('SADD', KEYS[3], ARGV[1]) end
            redis.call('DEL', KEYS[1])
            return #ARGV - 1
            """);
    /** The target refused a batch: back to the front of the queue, oldest first in line. KEYS: staging, queue, queues. */
    private static final LuaScript RESTORE = new LuaScript("transfer-restore", """
            local n = 0
            while redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT') do n = n + 1 end
            redis.call('SADD', KEYS[3], ARGV[1])
            return n
            """);
    /** Moves member ARGV[1] from sorted set KEYS[1] to KEYS[2] with its score; returns the score, or nil if gone. */
    private static final LuaScript STAGE_ONE = new LuaScript("transfer-stage-one", """
            local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
            if not s then return false end
            redis.call('ZREM', KEYS[1], ARGV[1])
            redis.call('ZADD', KEYS[2], s, ARGV[1])
            return s
            """);
    /** Puts member ARGV[1] back from staging KEYS[1] to its sorted set KEYS[2]. */
    private static final LuaScript UNSTAGE_ONE = new LuaScript("transfer-unstage-one", """
            local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
            if s then
              redis.call('ZREM', KEYS[1], ARGV[1])
              redis.call('ZADD', KEYS[2], s, ARGV[1])
            end
            return s
            """);
    /** Refreshes the lock only if this transfer still holds it. */
    private static final LuaScript REFRESH = new LuaScript("transfer-refresh", """
            if redis.call('GET', KEYS[1]) == ARGV[1] then
              return redis.call('PEXPIRE', KEYS[1], ARGV[2])
            end
            return 0
            """);

    private static final long LOCK_MILLIS = 120_000;

    private final UnifiedJedis redis;
    private final Keys keys;
    private final JobCodec codec;
    private final String queue;
    private final JobQueue target;
    private final int batch;
    private final byte[] queueKey;
    private final byte[] stagingKey;
    private final byte[] queuesKey;
    private final String lockKey;
    private final String lockToken = UUID.randomUUID().toString();

    QueueTransfer(UnifiedJedis redis, Keys keys, JobCodec codec, String queue, JobQueue target, int batch) {
        this.redis = redis;
        this.keys = keys;
        this.codec = codec;
        this.queue = queue;
        this.target = target;
        this.batch = batch;
        this.queueKey = Keys.bytes(keys.queue(queue));
        this.stagingKey = Keys.bytes(keys.transferPending(queue));
        this.queuesKey = Keys.bytes(keys.queues());
        this.lockKey = keys.transferPending(queue) + ":lock";
    }

    Transferred run() {
        // Two transfers of one queue would share the staging keys; one deleting the other's unacknowledged batch
        // would lose it. The lock expires so a crashed transfer does not block the queue for long.
        if (!"OK"
                .equals(redis.set(lockKey, lockToken, SetParams.setParams().nx().px(LOCK_MILLIS)))) {
            throw new IllegalStateException("another transfer of queue '" + queue + "' is running (lock " + lockKey
                    + "); wait for it, or delete that key if it crashed");
        }
        try {
            long[] pending = pending();
            long scheduled = sortedSet(keys.schedule(), "schedule");
            long retries = sortedSet(keys.retry(), "retry");
            return new Transferred(pending[0], scheduled, retries, pending[1]);
        } finally {
            if (lockToken.equals(redis.get(lockKey))) {
                redis.del(lockKey);
            }
        }
    }

    /** @return jobs sent and payloads left behind because they are not jobs */
    private long[] pending() {
        long sent = 0;
        long invalid = 0;
        List<byte[]> leftovers = redis.lrange(stagingKey, 0, -1);
        if (!leftovers.isEmpty()) {
            long[] r = send(leftovers);
            sent += r[0];
            invalid += r[1];
        }
        // Bounded by the length at the start: payloads that are not jobs go back to the queue and must not be taken
        // again, and producers still writing to Redis must not keep the transfer going forever.
        long budget = redis.llen(queueKey);
        long taken = 0;
        while (taken < budget) {
            refreshLock();
            int n = (int) Math.min(batch, budget - taken);
            @SuppressWarnings("unchecked")
            List<byte[]> staged = (List<byte[]>)
                    STAGE.eval(redis, List.of(queueKey, stagingKey), List.of(Keys.bytes(Integer.toString(n))));
            if (staged.isEmpty()) {
                break;
            }
            taken += staged.size();
            long[] r = send(staged);
            sent += r[0];
            invalid += r[1];
        }
        return new long[] {sent, invalid};
    }

    private long[] send(List<byte[]> stagedNewestFirst) {
        List<byte[]> payloads = new ArrayList<>(stagedNewestFirst);
        Collections.reverse(payloads);
        List<Job> jobs = new ArrayList<>(payloads.size());
        List<byte[]> finishArgs = new ArrayList<>();
        finishArgs.add(Keys.bytes(queue));
        for (byte[] p : payloads) {
            try {
                jobs.add(codec.decode(p).toBuilder().queue(queue).build());
            } catch (InvalidPayloadException e) {
                finishArgs.add(p);
            }
        }
        List<byte[]> keysArg = List.of(stagingKey, queueKey, queuesKey);
        if (!jobs.isEmpty()) {
            try {
                target.enqueueAll(jobs);
            } catch (RuntimeException e) {
                RESTORE.eval(redis, keysArg, List.of(Keys.bytes(queue)));
                throw new IllegalStateException(
                        "the target refused a batch of " + jobs.size() + " jobs of queue '"
                                + queue + "' (they are back at the front of the queue; earlier batches were moved): "
                                + e.getMessage(),
                        e);
            }
        }
        FINISH.eval(redis, keysArg, finishArgs);
        return new long[] {jobs.size(), finishArgs.size() - 1};
    }

    /** Moves the queue's entries of a sorted set (schedule or retry), keeping their due times. */
    private long sortedSet(String set, String name) {
        byte[] setKey = Keys.bytes(set);
        byte[] stagedKey = Keys.bytes(keys.transferStaged(queue, name));
        long sent = 0;
        for (Tuple t : redis.zrangeWithScores(stagedKey, 0, -1)) {
            sent += sendOne(t.getBinaryElement(), t.getScore(), setKey, stagedKey) ? 1 : 0;
        }
        ScanParams params = new ScanParams().count(500);
        byte[] cursor = ScanParams.SCAN_POINTER_START_BINARY;
        do {
            refreshLock();
            ScanResult<Tuple> page = redis.zscan(setKey, cursor, params);
            for (Tuple t : page.getResult()) {
                byte[] member = t.getBinaryElement();
                Job job = decode(member);
                if (job == null || !queue.equals(job.queue())) {
                    continue;
                }
                Object score = STAGE_ONE.eval(redis, List.of(setKey, stagedKey), List.of(member));
                if (score == null) {
                    continue; // promoted by a poller (or retried) meanwhile: it is pending in Redis now
                }
                double due = Double.parseDouble(new String((byte[]) score, StandardCharsets.US_ASCII));
                sent += sendOne(member, due, setKey, stagedKey) ? 1 : 0;
            }
            cursor = page.getCursorAsBytes();
        } while (!new String(cursor, StandardCharsets.US_ASCII).equals("0"));
        return sent;
    }

    private boolean sendOne(byte[] member, double dueSeconds, byte[] setKey, byte[] stagedKey) {
        Job job = decode(member);
        if (job == null) {
            UNSTAGE_ONE.eval(redis, List.of(stagedKey, setKey), List.of(member));
            return false;
        }
        Instant due = Instant.ofEpochMilli(Math.round(dueSeconds * 1000));
        try {
            target.enqueueAt(job.toBuilder().queue(queue).build(), due);
        } catch (RuntimeException e) {
            UNSTAGE_ONE.eval(redis, List.of(stagedKey, setKey), List.of(member));
            throw new IllegalStateException(
                    "the target refused scheduled job " + job.jid() + " of queue '" + queue + "' (it is back in "
                            + new String(setKey, StandardCharsets.UTF_8) + "): " + e.getMessage(),
                    e);
        }
        redis.zrem(stagedKey, member);
        return true;
    }

    private Job decode(byte[] payload) {
        try {
            return codec.decode(payload);
        } catch (InvalidPayloadException e) {
            return null;
        }
    }

    private void refreshLock() {
        REFRESH.eval(
                redis,
                List.of(Keys.bytes(lockKey)),
                List.of(Keys.bytes(lockToken), Keys.bytes(Long.toString(LOCK_MILLIS))));
    }
}

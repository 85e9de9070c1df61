package dev.crossfade.redis.internal;

import dev.crossfade.api.Job;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.redis.RedisBackendConfig;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;

/**
 * Writes the retry and dead sets in Sidekiq's layout ({@code ZADD retry <due> <json>}, {@code ZADD dead <now> <json>}
 * trimmed by count and age), always together with removing the job from the list that held it, in one script. The
 * decision whether a job retries or dies is the execution core's; this class only stores it.
 */
public final class JobRetry {
    /** error_class of jobs sent to the dead set because they kept killing their worker processes. */
    public static final String POISON_PILL_CLASS = "crossfade.PoisonPill";

    private static final Logger log = LoggerFactory.getLogger(JobRetry.class);
    /**
     * Jobs on their way to retry/dead are re-encoded with error fields added; a job that was just under the payload
     * limit must not become unstorable because of its error message, so no limit applies here.
     */
    private static final JobCodec UNLIMITED =
            JobCodec.builder().maxPayloadBytes(Integer.MAX_VALUE).build();
    /** As much of an undecodable payload as a dead envelope keeps, as the execution core does. */
    private final Keys keys;

    private final byte[] retryKey;
    private final byte[] deadKey;
    private final String recoveriesKey;
    private final RedisBackendConfig config;
    private final WireFormat wire;

    public JobRetry(Keys keys, RedisBackendConfig config, WireFormat wire) {
        this.wire = wire;
        this.keys = keys;
        this.retryKey = Keys.bytes(keys.retry());
        this.deadKey = Keys.bytes(keys.dead());
        this.recoveriesKey = keys.recoveries();
        this.config = config;
    }

    /**
     * The bytes stored for a job in the retry or dead set. Any job encodes unless it is broken in memory (a field that
     * cannot be serialised); callers turn that failure into a dead entry of its own.
     */
    public byte[] encode(Job job) {
        return wire.unlimited().encode(job);
    }

    /** Queues "schedule a retry ({@code body}, from {@link #encode}) at {@code due}, releasing {@code held}". */
    public Response<Object> retry(AbstractPipeline p, byte[] list, byte[] held, byte[] body, byte[] due) {
        return Scripts.RETRY.eval(p, List.of(retryKey, list), List.of(due, body, held));
    }

    /** Queues "add {@code body} (from {@link #encode}) to the dead set, releasing {@code held} from {@code list}". */
    public Response<Object> dead(AbstractPipeline p, byte[] list, byte[] held, byte[] body, Instant now) {
        return Scripts.DEAD.eval(p, List.of(deadKey, list), deadArgs(held, body, now));
    }

    /**
     * Queues "forget how often each of {@code jids} was recovered from dead processes": the attempt ended without killing its
     * process, so only consecutive crashes count towards {@code maxRecoveries}. A job that once died with its process
     * and later succeeds must not be a poison pill at its next crash. One command for a whole batch of jids.
     */
    public void finished(AbstractPipeline p, List<String> jids) {
        if (!jids.isEmpty()) {
            p.hdel(recoveriesKey, jids.toArray(String[]::new));
        }
    }

    private List<byte[]> deadArgs(byte[] held, byte[] body, Instant now) {
        Instant oldest = now.minus(config.deadTimeout());
        return List.of(score(now), body, held, score(oldest), Keys.bytes(Integer.toString(config.deadMaxJobs())));
    }

    /**
     * Moves every job on the poison list to the dead set with an error saying why. Each entry is removed from the
     * poison list in the same script that adds it to the dead set, so a crash here loses nothing.
     *
     * @return how many were moved
     */
    public int drainPoison(UnifiedJedis redis, int maxRecoveries) {
        byte[] poisonKey = Keys.bytes(keys.poison());
        int moved = 0;
        while (true) {
            byte[] payload = redis.lindex(poisonKey, -1);
            if (payload == null) {
                return moved;
            }
            Job dead = poisonEnvelope(payload, maxRecoveries);
            Object r = Scripts.DEAD.eval(
                    redis, List.of(deadKey, poisonKey), deadArgs(payload, encode(dead), Instant.now()));
            if (((Long) r) == 1L) {
                moved++;
                log.error(
                        "job {} ({}) was in progress in {} worker processes that died without finishing it; sent "
                                + "to the dead set as a poison pill",
                        dead.jid(),
                        dead.className(),
                        maxRecoveries);
            }
        }
    }

    private static Job poisonEnvelope(byte[] payload, int maxRecoveries) {
        String why = "job was in progress in " + maxRecoveries + " worker processes that stopped heart-beating "
                + "(crashed, killed or hung) before finishing it; sent to the dead set after " + maxRecoveries
                + " recoveries so it cannot take down more workers (maxRecoveries = " + maxRecoveries + ")";
        return deadEnvelope(payload, null, POISON_PILL_CLASS, why);
    }

    /**
     * A dead-set entry for a fetched payload that did not get an ordinary outcome: the job itself with the error
     * fields set when it decodes, else an envelope of class {@value ExecutionCore#INVALID_PAYLOAD_CLASS} carrying the
     * raw payload (its first 64 KiB, as the execution core keeps them) as its only arg.
     *
     * @param queue where it was fetched from, for the envelope; null for the job's own or the default
     */
    public static Job deadEnvelope(byte[] payload, String queue, String errorClass, String why) {
        Instant now = Instant.now();
        Job.Builder b;
        try {
            Job job = UNLIMITED.decode(payload);
            b = job.toBuilder();
            if (job.failedAt() == null) {
                b.failedAt(now);
            }
        } catch (RuntimeException | StackOverflowError e) {
            b = ExecutionCore.invalidPayloadEnvelope(payload, queue, e, now).toBuilder();
        }
        return b.errorClass(errorClass).errorMessage(why).build();
    }

    /** A time as a sorted-set score (epoch seconds). */
    public static byte[] score(Instant t) {
        return Keys.bytes(Keys.num(t.getEpochSecond() + t.getNano() / 1e9));
    }
}

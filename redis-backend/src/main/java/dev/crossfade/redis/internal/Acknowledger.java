package dev.crossfade.redis.internal;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.redis.RedisBackendConfig;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Writes outcomes to Redis from one thread, batching whatever accumulated into one pipeline: an {@code LREM} from the
 * in-progress list per finished job, a retry or dead script per failed one, and for each the reset of its recovery
 * count (see {@link JobRetry#finished}). Worker threads never wait for Redis, and
 * at high throughput hundreds of acknowledgements share a round trip.
 *
 * <p>An acknowledgement is never dropped: while Redis is unreachable the batch is retried with backoff (every command
 * in it is idempotent, see {@link Scripts}), and the job stays safely in the in-progress list meanwhile. Only a
 * shutdown whose deadline passes gives up, leaving the jobs in progress for recovery by another process. With
 * {@code waitReplicas}, a batch counts as written only once that many replicas have it ({@link Failover}); until then
 * it is written again, so a failover cannot undo an outcome this process already acted on.
 *
 * <p>An outcome that cannot be written as it is (its job does not encode, or Redis refuses the write for good, e.g.
 * {@code WRONGTYPE}) is written as a dead entry saying why, so the job neither sits in the in-progress list nor
 * blocks the acknowledgements behind it. Retrying would fail the same way.
 */
public final class Acknowledger {
    private static final Logger log = LoggerFactory.getLogger(Acknowledger.class);
    private static final int MAX_BATCH = 1_000;
    /** Error replies that pass by themselves (a full, loading, busy or failing-over server): retried, not dead. */
    private static final List<String> TRANSIENT = List.of(
            "OOM", "BUSY", "LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "NOREPLICAS", "NOSCRIPT");

    /** @param fallback whether this is already the dead entry written instead of an outcome that could not be */
    private record Ack(Fetched job, Outcome outcome, boolean fallback) {}

    /** One acknowledgement ready for the pipeline: encoded, or (encoding failed) replaced by a dead entry. */
    private record Prepared(Ack ack, byte[] body, byte[] due) {}

    private final UnifiedJedis redis;
    private final JobRetry retry;
    private final RedisMetrics metrics;
    private final RedisBackendConfig config;
    private final Consumer<Fetched> written;
    private final String name;
    private final LinkedBlockingQueue<Ack> pending = new LinkedBlockingQueue<>();
    private final FailureLog failures;
    private final Failover failover;
    private Supervisor.Slot thread;
    private volatile boolean running = true;
    private volatile long giveUpAtNanos = Long.MAX_VALUE;
    private volatile int unwritten;

    /**
     * @param written called for each job once its outcome is in Redis (the job has left the in-progress list)
     */
    public Acknowledger(
            UnifiedJedis redis,
            JobRetry retry,
            RedisMetrics metrics,
            RedisBackendConfig config,
            Consumer<Fetched> written,
            String name) {
        this.redis = redis;
        this.written = written;
        this.retry = retry;
        this.metrics = metrics;
        this.config = config;
        this.name = name;
        this.failover = new Failover(config);
        this.failures = new FailureLog(log, "writing job outcomes to Redis at " + config.redactedUrl());
    }

    public void start(Supervisor supervisor) {
        thread = supervisor.start(name, "acknowledger", this::run);
    }

    public void submit(Fetched job, Outcome outcome) {
        pending.add(new Ack(job, outcome, false));
    }

    /**
     * Writes what is pending and stops, retrying until {@code deadlineNanos} if Redis is down.
     *
     * @return true when every acknowledgement was written
     */
    public boolean stop(long deadlineNanos) {
        giveUpAtNanos = deadlineNanos;
        running = false;
        boolean ended = thread.join(deadlineNanos + TimeUnit.SECONDS.toNanos(1));
        return ended && pending.isEmpty() && unwritten == 0;
    }

    private void run() {
        List<Ack> batch = new ArrayList<>();
        while (running || !pending.isEmpty()) {
            try {
                Ack first = pending.poll(50, TimeUnit.MILLISECONDS);
                if (first == null) {
                    continue;
                }
                batch.add(first);
                pending.drainTo(batch, MAX_BATCH - 1);
                unwritten = batch.size();
                writeWithRetry(batch);
                batch.clear();
                unwritten = 0;
            } catch (InterruptedException e) {
                if (!running) {
                    break;
                }
            } catch (ThreadDeath death) {
                pending.addAll(batch); // the replacement thread writes them
                throw death;
            } catch (Throwable t) { // NOPMD: writeWithRetry handles its failures; this is the net under it
                failures.failed(t, "writing the outcomes again");
                pending.addAll(batch);
                batch.clear();
                unwritten = 0;
                pauseQuietly();
            }
        }
        if (!pending.isEmpty()) {
            log.error(
                    "gave up writing {} job outcome(s) at shutdown; the jobs stay in the in-progress list and "
                            + "another process will recover and re-run them",
                    pending.size());
        }
    }

    private void writeWithRetry(List<Ack> batch) {
        Backoff backoff = new Backoff(config.maxReconnectBackoff());
        while (true) {
            List<Ack> refused;
            try {
                refused = write(batch);
                failures.ok();
            } catch (JedisException | ClassCastException e) {
                if (LuaScript.isNoScript(e)) {
                    loadScriptsQuietly();
                    continue;
                }
                failures.failed(e, "retrying with backoff; the jobs stay in progress meanwhile");
                if (System.nanoTime() - giveUpAtNanos > 0) {
                    log.error(
                            "gave up writing {} job outcome(s) at shutdown; the jobs stay in the in-progress list "
                                    + "and another process will recover and re-run them",
                            batch.size());
                    pending.clear();
                    return;
                }
                if (!backoff.pause()) {
                    return;
                }
                continue;
            }
            for (Ack a : refused) {
                writeWithRetry(List.of(a)); // a fallback dead entry: written alone, never replaced again
            }
            return;
        }
    }

    private void loadScriptsQuietly() {
        try {
            Scripts.RETRY.load(redis);
            Scripts.DEAD.load(redis);
        } catch (JedisException ignored) {
            // The retry loop reports the connection problem.
        }
    }

    /**
     * Writes a batch in one pipeline. @return dead entries to write instead of outcomes Redis refused for good
     *
     * @throws JedisException when the batch must be written again (connection lost, script cache empty, server busy)
     */
    private List<Ack> write(List<Ack> batch) {
        Instant now = Instant.now();
        List<Prepared> ready = new ArrayList<>(batch.size());
        for (Ack a : batch) {
            Prepared p = prepare(a);
            if (p != null) {
                ready.add(p);
            }
        }
        List<Response<?>> replies = new ArrayList<>(ready.size());
        List<String> jids = new ArrayList<>(ready.size());
        try (AbstractPipeline p = redis.pipelined()) {
            for (Prepared r : ready) {
                Fetched f = r.ack().job();
                Outcome o = r.ack().outcome();
                if (o instanceof Outcome.Retry) {
                    replies.add(retry.retry(p, f.inProgressKey, f.payload, r.body(), r.due()));
                } else if (o instanceof Outcome.Dead) {
                    replies.add(retry.dead(p, f.inProgressKey, f.payload, r.body(), now));
                } else {
                    // From the tail: the oldest fetched jobs sit there and usually finish first.
                    replies.add(p.lrem(f.inProgressKey, -1, f.payload));
                }
                String jid = jid(o);
                if (jid != null) {
                    jids.add(jid);
                }
            }
            retry.finished(p, jids);
            Response<Long> waited = failover.request(p);
            p.sync();
            // Before any reply is acted on: a batch the replicas did not get is written again as a whole.
            failover.check(waited);
        }
        List<Ack> refused = new ArrayList<>();
        Map<String, Tally> tallies = new HashMap<>();
        JedisDataException again = null;
        for (int i = 0; i < ready.size(); i++) {
            Ack a = ready.get(i).ack();
            try {
                replies.get(i).get();
            } catch (JedisDataException e) {
                if (isTransient(e)) {
                    again = e;
                } else {
                    Ack dead = a.fallback() ? null : unwritable(a, "Redis refused to store it: " + e.getMessage(), e);
                    if (dead != null) {
                        refused.add(dead);
                    } else {
                        log.error(
                                "Redis refused the dead entry of a job on queue '{}' too ({}); it stays in "
                                        + "progress until this process stops",
                                a.job().queue(),
                                e.getMessage());
                    }
                }
                continue;
            }
            written(a, tallies);
        }
        count(tallies);
        if (again != null) {
            throw again; // written ones are idempotent: writing the batch again changes nothing for them
        }
        return refused;
    }

    private static boolean isTransient(JedisDataException e) {
        String m = e.getMessage() == null ? "" : e.getMessage().toUpperCase(Locale.ROOT);
        return TRANSIENT.stream().anyMatch(m::startsWith);
    }

    /** Counts per queue of one batch's written outcomes: processed, failed, retried, dead. */
    private static final class Tally {
        final long[] counts = new long[4];
    }

    private void written(Ack a, Map<String, Tally> tallies) {
        written.accept(a.job());
        long[] c = tallies.computeIfAbsent(a.job().queue(), q -> new Tally()).counts;
        Outcome o = a.outcome();
        c[0]++;
        if (!(o instanceof Outcome.Succeeded)) {
            c[1]++;
        }
        if (o instanceof Outcome.Retry) {
            c[2]++;
        } else if (o instanceof Outcome.Dead) {
            c[3]++;
        }
    }

    /** Adds a batch's counts to the meters once per queue, not once per job. */
    private void count(Map<String, Tally> tallies) {
        tallies.forEach((q, t) -> {
            metrics.count("processed", q, t.counts[0]);
            metrics.count("failed", q, t.counts[1]);
            metrics.count("retried", q, t.counts[2]);
            metrics.count("dead", q, t.counts[3]);
        });
    }

    /** Encodes what the pipeline will store. @return null if not even a dead entry could be made (logged) */
    private Prepared prepare(Ack a) {
        try {
            Outcome o = a.outcome();
            if (o instanceof Outcome.Retry r) {
                return new Prepared(a, retry.encode(r.job()), JobRetry.score(r.dueAt()));
            }
            if (o instanceof Outcome.Dead d) {
                return new Prepared(a, retry.encode(d.job()), null);
            }
            return new Prepared(a, null, null);
        } catch (ThreadDeath death) {
            throw death;
        } catch (Throwable t) { // NOPMD: a job broken in memory must not stop the acknowledgements behind it
            Ack dead = a.fallback()
                    ? null
                    : unwritable(
                            a, "its " + kind(a.outcome()) + " outcome cannot be encoded: " + FailureLog.describe(t), t);
            if (dead == null) {
                log.error(
                        "cannot encode the dead entry of a job on queue '{}' ({}); it stays in progress until "
                                + "this process stops",
                        a.job().queue(),
                        FailureLog.describe(t));
                return null;
            }
            return prepare(dead);
        }
    }

    /** The dead entry written instead of an outcome that cannot be. @return null if it cannot be built either */
    private static Ack unwritable(Ack a, String why, Throwable cause) {
        try {
            String message = "cannot store the outcome of this job (" + why + "); sent to the dead set instead of "
                    + "leaving it in progress";
            log.error("job on queue '{}': {}", a.job().queue(), message);
            Job dead = JobRetry.deadEnvelope(
                    a.job().payload, a.job().queue(), cause.getClass().getName(), message);
            return new Ack(a.job(), new Outcome.Dead(dead, cause), true);
        } catch (Throwable t) { // NOPMD: the caller logs that the job stays in progress
            return null;
        }
    }

    private static String jid(Outcome o) {
        try {
            return o == null || o.job() == null ? null : o.job().jid();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private static String kind(Outcome o) {
        return o == null ? "missing" : o.getClass().getSimpleName().toLowerCase(Locale.ROOT);
    }

    private static void pauseQuietly() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException ignored) {
            // The loop checks whether to stop.
        }
    }
}

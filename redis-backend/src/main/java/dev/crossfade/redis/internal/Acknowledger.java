package dev.crossfade.redis.internal;

import dev.crossfade.api.execution.Outcome;
import dev.crossfade.redis.RedisBackendConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Writes outcomes to Redis from one thread, batching whatever accumulated into one pipeline: an {@code LREM} from the
 * in-progress list per finished job, a retry or dead script per failed one. Worker threads never wait for Redis, and
 * at high throughput hundreds of acknowledgements share a round trip.
 *
 * <p>An acknowledgement is never dropped: while Redis is unreachable the batch is retried with backoff (every command
 * in it is idempotent, see {@link Scripts}), and the job stays safely in the in-progress list meanwhile. Only a
 * shutdown whose deadline passes gives up, leaving the jobs in progress for recovery by another process.
 */
public final class Acknowledger {
    private static final Logger log = LoggerFactory.getLogger(Acknowledger.class);
    private static final int MAX_BATCH = 1_000;

    private record Ack(Fetched job, Outcome outcome) {
    }

    private final UnifiedJedis redis;
    private final JobRetry retry;
    private final RedisMetrics metrics;
    private final RedisBackendConfig config;
    private final Consumer<Fetched> written;
    private final LinkedBlockingQueue<Ack> pending = new LinkedBlockingQueue<>();
    private final Thread thread;
    private volatile boolean running = true;
    private volatile long giveUpAtNanos = Long.MAX_VALUE;
    private volatile int unwritten;

    /**
     * @param written called for each job once its outcome is in Redis (the job has left the in-progress list)
     */
    public Acknowledger(UnifiedJedis redis, JobRetry retry, RedisMetrics metrics, RedisBackendConfig config,
                        Consumer<Fetched> written, String name) {
        this.redis = redis;
        this.written = written;
        this.retry = retry;
        this.metrics = metrics;
        this.config = config;
        this.thread = new Thread(this::run, name);
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    public void submit(Fetched job, Outcome outcome) {
        pending.add(new Ack(job, outcome));
    }

    /**
     * Writes what is pending and stops, retrying until {@code deadlineNanos} if Redis is down.
     *
     * @return true when every acknowledgement was written
     */
    public boolean stop(long deadlineNanos) {
        giveUpAtNanos = deadlineNanos;
        running = false;
        try {
            thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()) + 1_000));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !thread.isAlive() && pending.isEmpty() && unwritten == 0;
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
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (!pending.isEmpty()) {
            log.error("gave up writing {} job outcome(s) at shutdown; the jobs stay in the in-progress list and "
                    + "another process will recover and re-run them", pending.size());
        }
    }

    private void writeWithRetry(List<Ack> batch) {
        Backoff backoff = new Backoff(config.maxReconnectBackoff());
        while (true) {
            try {
                write(batch);
                if (backoff.failures() > 0) {
                    log.info("Redis is back: wrote {} pending job outcome(s) after {} failed attempt(s)", batch.size(),
                            backoff.failures());
                }
                return;
            } catch (JedisException | ClassCastException e) {
                if (LuaScript.isNoScript(e)) {
                    loadScriptsQuietly();
                    continue;
                }
                if (backoff.failures() == 0) {
                    log.warn("cannot write {} job outcome(s) to Redis at {} ({}); retrying with backoff, the jobs stay "
                            + "in progress meanwhile", batch.size(), config.redactedUrl(), e.toString());
                }
                if (System.nanoTime() - giveUpAtNanos > 0) {
                    log.error("gave up writing {} job outcome(s) at shutdown; the jobs stay in the in-progress list "
                            + "and another process will recover and re-run them", batch.size());
                    pending.clear();
                    return;
                }
                if (!backoff.pause()) {
                    return;
                }
            }
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

    private void write(List<Ack> batch) {
        Instant now = Instant.now();
        List<Response<Object>> scripted = new ArrayList<>();
        try (AbstractPipeline p = redis.pipelined()) {
            for (Ack a : batch) {
                Fetched f = a.job();
                Outcome o = a.outcome();
                if (o instanceof Outcome.Retry r) {
                    scripted.add(retry.retry(p, f.inProgressKey, f.payload, r.job(), r.dueAt()));
                } else if (o instanceof Outcome.Dead d) {
                    scripted.add(retry.dead(p, f.inProgressKey, f.payload, d.job(), now));
                } else {
                    // From the tail: the oldest fetched jobs sit there and usually finish first.
                    p.lrem(f.inProgressKey, -1, f.payload);
                }
            }
            p.sync();
        }
        for (Response<Object> r : scripted) {
            r.get(); // surfaces NOSCRIPT and other script errors
        }
        for (Ack a : batch) {
            written.accept(a.job());
            String q = a.job().queue();
            Outcome o = a.outcome();
            metrics.count("processed", q, 1);
            if (o instanceof Outcome.Retry) {
                metrics.count("failed", q, 1);
                metrics.count("retried", q, 1);
            } else if (o instanceof Outcome.Dead) {
                metrics.count("failed", q, 1);
                metrics.count("dead", q, 1);
            } else if (o instanceof Outcome.Discarded) {
                metrics.count("failed", q, 1);
            }
        }
    }
}

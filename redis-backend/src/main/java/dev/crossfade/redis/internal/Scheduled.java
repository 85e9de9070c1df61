package dev.crossfade.redis.internal;

import dev.crossfade.redis.RedisBackendConfig;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;

/**
 * The scheduled-job poller: moves due entries of {@code schedule} and {@code retry} to their queues. Each move is the
 * {@link Scripts#PROMOTE} script, so any number of processes (Ruby Sidekiq's poller included, which pops one job per
 * call atomically) can poll the same sets without promoting a job twice or dropping one. Waits a random 0.5–1.5×
 * the poll interval between rounds, as Sidekiq does, so a fleet does not poll in lockstep.
 */
public final class Scheduled {
    private static final Logger log = LoggerFactory.getLogger(Scheduled.class);
    /** Jobs per script call: bounds how long one call blocks Redis. */
    static final int BATCH = 100;

    private final UnifiedJedis redis;
    private final Keys keys;
    private final RedisBackendConfig config;
    private final FailureLog failures;
    private Supervisor.Slot thread;
    private volatile boolean running = true;

    public Scheduled(UnifiedJedis redis, Keys keys, RedisBackendConfig config) {
        this.redis = redis;
        this.keys = keys;
        this.config = config;
        this.failures = new FailureLog(log, "the scheduled-job poller's work with Redis at " + config.redactedUrl());
    }

    public void start(Supervisor supervisor, String name) {
        thread = supervisor.start(name, "poller", this::run);
    }

    public void stop() {
        running = false;
        if (thread != null) {
            thread.interrupt();
            thread.join(System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
        }
    }

    private void run() {
        while (running) {
            try {
                promoteDue();
                failures.ok();
            } catch (ThreadDeath death) {
                throw death;
            } catch (Throwable e) { // NOPMD: one failed round must not end the poller
                failures.failed(e, "trying again every poll interval");
            }
            long avg = config.pollInterval().toMillis();
            long wait = avg / 2 + ThreadLocalRandom.current().nextLong(avg + 1);
            try {
                Thread.sleep(wait);
            } catch (InterruptedException e) {
                if (!running) {
                    return;
                }
            }
        }
    }

    /** Promotes every due job of both sets now. @return how many were promoted */
    public long promoteDue() {
        long total = 0;
        for (String set : List.of(keys.schedule(), keys.retry())) {
            while (running) {
                double now = Launcher.nowSeconds();
                Object moved = Scripts.PROMOTE.eval(
                        redis,
                        List.of(Keys.bytes(set), Keys.bytes(keys.queues())),
                        List.of(
                                Keys.bytes(Keys.num(now)),
                                Keys.bytes(Integer.toString(BATCH)),
                                Keys.bytes(keys.prefix())));
                long n = (Long) moved;
                total += n;
                if (n < BATCH) {
                    break;
                }
            }
        }
        return total;
    }
}

package dev.crossfade.redis.internal;

import dev.crossfade.redis.RedisBackendConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

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
    private final Thread thread;
    private volatile boolean running = true;
    private int failures;

    public Scheduled(UnifiedJedis redis, Keys keys, RedisBackendConfig config) {
        this.redis = redis;
        this.keys = keys;
        this.config = config;
        this.thread = new Thread(this::run, "crossfade-redis-poller");
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    public void stop() {
        running = false;
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        while (running) {
            try {
                promoteDue();
                if (failures > 0) {
                    log.info("scheduled-job poller reaches Redis at {} again", config.redactedUrl());
                }
                failures = 0;
            } catch (JedisException e) {
                if (failures++ == 0) {
                    log.warn("scheduled-job poller cannot reach Redis at {}: {}", config.redactedUrl(), e.toString());
                }
            } catch (RuntimeException e) {
                log.error("scheduled-job poller failed unexpectedly", e);
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
                Object moved = Scripts.PROMOTE.eval(redis, List.of(Keys.bytes(set), Keys.bytes(keys.queues())),
                        List.of(Keys.bytes(Keys.num(now)), Keys.bytes(Integer.toString(BATCH)),
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

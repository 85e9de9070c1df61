package dev.crossfade.redis.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The backend's Micrometer meters, all tagged {@code backend=redis} and, where it applies, {@code queue}. Without a
 * configured registry an empty composite registry is used, whose meters are no-ops, so call sites need no null checks.
 *
 * <p>Queue size gauges read a value refreshed by the heartbeat rather than calling Redis from the scrape thread: a
 * scrape must never block on, or fail with, Redis.
 */
public final class RedisMetrics {
    private final MeterRegistry registry;
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> queueSizes = new ConcurrentHashMap<>();
    private final Timer fetchLatency;

    public RedisMetrics(MeterRegistry registry) {
        this.registry = registry != null ? registry : new CompositeMeterRegistry();
        this.fetchLatency = Timer.builder("crossfade.redis.fetch.latency")
                .description("time of one fetch round trip to Redis (batch Lua fetch or blocking move)")
                .tag("backend", "redis")
                .register(this.registry);
    }

    /** Counts {@code crossfade.redis.jobs.<what>}: processed, failed, retried, dead, recovered, poisoned. */
    public void count(String what, String queue, long n) {
        if (n <= 0) {
            return;
        }
        counters.computeIfAbsent(
                        what + '\u0000' + queue,
                        k -> Counter.builder("crossfade.redis.jobs." + what)
                                .tag("backend", "redis")
                                .tag("queue", queue)
                                .register(registry))
                .increment(n);
    }

    /**
     * Counts {@code crossfade.redis.threads.replaced} (tag {@code role}: worker, fetcher, acknowledger, heartbeat,
     * poller, supervisor): threads that died and were replaced. Anything above zero is a bug worth a look.
     */
    public void threadReplaced(String role) {
        counters.computeIfAbsent(
                        "threads.replaced\u0000" + role,
                        k -> Counter.builder("crossfade.redis.threads.replaced")
                                .description("runtime threads that died and were replaced by the supervisor")
                                .tag("backend", "redis")
                                .tag("role", role)
                                .register(registry))
                .increment();
    }

    public void fetchLatency(long nanos) {
        fetchLatency.record(nanos, TimeUnit.NANOSECONDS);
    }

    /** Updates the gauge of a queue's length, registering it on first sight. */
    public void queueSize(String queue, long size) {
        queueSizes
                .computeIfAbsent(queue, q -> {
                    AtomicLong holder = new AtomicLong();
                    Gauge.builder("crossfade.redis.queue.size", holder, AtomicLong::get)
                            .description("jobs waiting in the Redis list queue:<queue>, as of the last heartbeat")
                            .tag("backend", "redis")
                            .tag("queue", q)
                            .register(registry);
                    return holder;
                })
                .set(size);
    }
}

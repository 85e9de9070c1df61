package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import redis.clients.jedis.Connection;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.util.Pool;

/**
 * The connection pool: sized for what the backend's running worker runtimes can hold at once, and quiet when Redis
 * restarts (the pool's idle-connection checks used to print a stack trace per idle connection).
 */
@ExtendWith(CrossfadeServices.class)
class ConnectionPoolTest {

    /**
     * Forty worker threads each hold a connection for longer than the pool's wait limit, as jobs using the backend's
     * client for a pipeline or a transaction would: every one gets its connection, because the pool grew for the
     * runtime when it started (and shrinks back when it stops).
     */
    @Test
    void everyWorkerThreadOfARuntimeCanHoldAConnectionAtOnce(RedisService redis, TestNamespace ns) {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value()).build())) {
            Pool<Connection> pool = ((RedisClient) backend.redis()).getPool();
            assertEquals(8, pool.getMaxTotal(), "producers only, before any runtime starts");
            Map<String, String> outcome = new ConcurrentHashMap<>();
            AtomicInteger holding = new AtomicInteger();
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("Hold", (args, ctx) -> {
                        try (Connection c = pool.getResource()) {
                            holding.incrementAndGet();
                            Thread.sleep(6_000); // longer than the pool's wait limit (connect + socket timeout, 5 s)
                            outcome.put(ctx.jid(), "held");
                        } catch (RuntimeException e) {
                            outcome.put(ctx.jid(), e.toString());
                        }
                    })
                    .build();
            List<String> jids = new ArrayList<>();
            try (RedisWorkerRuntime workers =
                    backend.workers(ExecutionCore.builder(registry).build(), List.of("default"), 40)) {
                workers.start();
                assertEquals(8 + 40 + 5, pool.getMaxTotal(), "grown by concurrency plus the runtime's own threads");
                for (int i = 0; i < 40; i++) {
                    jids.add(backend.queue().enqueue(Job.of("Hold", i)));
                }
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> outcome.keySet().containsAll(jids));
            }
            assertEquals(
                    List.of("held"), outcome.values().stream().distinct().toList(), "every thread got a connection");
            assertEquals(8, pool.getMaxTotal(), "shrunk back when the runtime stopped");
        }
    }

    @Test
    void aFixedPoolSizeIsKept(RedisService redis, TestNamespace ns) {
        try (RedisBackend backend = RedisBackend.create(
                TestConfigs.fast(redis.uri(), ns.value()).poolSize(12).build())) {
            Pool<Connection> pool = ((RedisClient) backend.redis()).getPool();
            try (RedisWorkerRuntime workers = backend.workers(
                    ExecutionCore.builder(WorkerRegistry.builder().build()).build(), List.of("default"), 20)) {
                workers.start();
                assertEquals(12, pool.getMaxTotal());
            }
        }
    }

    /**
     * Redis is killed under a running runtime that holds idle pooled connections, and comes back. What the process
     * prints meanwhile is a few lines (each loop says once that it fails and once that it works again), and no stack
     * trace: in particular not from the pool's checks of its idle connections, run here at once (while Redis is down
     * and after it is back) rather than waiting for the pool's evictor.
     */
    @Test
    void aRedisRestartPrintsNoStackTrace() throws Exception {
        try (LocalRedis redis = LocalRedis.builder().build().start();
                RedisBackend backend = RedisBackend.create(TestConfigs.fast(
                                redis.uri(), TestNamespace.random("quiet").value())
                        .build())) {
            Pool<Connection> pool = ((RedisClient) backend.redis()).getPool();
            AtomicInteger runs = new AtomicInteger();
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("Counted", (args, ctx) -> runs.incrementAndGet())
                    .build();
            try (RedisWorkerRuntime workers =
                    backend.workers(ExecutionCore.builder(registry).build(), List.of("default"), 2)) {
                workers.start();
                backend.queue().enqueue(Job.of("Counted"));
                await().atMost(Duration.ofSeconds(10)).until(() -> runs.get() == 1);
                List<Connection> held = new ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    held.add(pool.getResource());
                }
                held.forEach(Connection::close); // idle connections, soon to be stale

                PrintStream original = System.err;
                ByteArrayOutputStream captured = new ByteArrayOutputStream();
                System.setErr(new PrintStream(new Tee(original, captured), true, StandardCharsets.UTF_8));
                try {
                    redis.kill();
                    pool.evict(); // the evictor's checks of the idle connections, now rather than within 30 s
                    Thread.sleep(2_000);
                    redis.start();
                    pool.evict();
                    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
                        backend.queue().enqueue(Job.of("Counted"));
                        return true;
                    });
                    await().atMost(Duration.ofSeconds(30)).until(() -> runs.get() >= 2);
                    Thread.sleep(1_000);
                } finally {
                    System.setErr(original);
                }
                String out = captured.toString(StandardCharsets.UTF_8);
                List<String> traces = out.lines()
                        .filter(l -> l.startsWith("\tat ") || l.startsWith("Caused by"))
                        .toList();
                assertEquals(List.of(), traces, "no stack trace was printed:\n" + out);
                long warnings = out.lines()
                        .filter(l -> l.contains(" WARN ") || l.contains(" ERROR "))
                        .count();
                assertTrue(warnings <= 8, "each loop reports the outage once:\n" + out);
            }
        }
    }

    /** Writes to two streams. */
    private static final class Tee extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        Tee(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public synchronized void write(int c) throws java.io.IOException {
            a.write(c);
            b.write(c);
        }

        @Override
        public synchronized void write(byte[] buf, int off, int len) throws java.io.IOException {
            a.write(buf, off, len);
            b.write(buf, off, len);
        }

        @Override
        public void flush() throws java.io.IOException {
            a.flush();
            b.flush();
        }
    }
}

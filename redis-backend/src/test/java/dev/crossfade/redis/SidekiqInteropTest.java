package dev.crossfade.redis;

import com.fasterxml.jackson.databind.JsonNode;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.Worker;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.tck.Ledger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Wire compatibility with real Ruby Sidekiq 6.4, both ways. Sidekiq (without the redis-namespace gem) uses plain key
 * names, so these tests use a private Redis, emptied before each test, and no namespace.
 */
class SidekiqInteropTest {
    private static LocalRedis redis;
    private RedisBackend backend;
    private final Ledger ledger = new Ledger();

    @BeforeAll
    static void rubyAndRedis() {
        Ruby.requireSidekiq();
        redis = LocalRedis.builder().build().start();
    }

    @AfterAll
    static void stopRedis() {
        if (redis != null) {
            redis.close();
        }
    }

    @BeforeEach
    void emptyRedis() {
        backend = RedisBackend.create(TestConfigs.fast(redis.uri(), "").build());
        backend.redis().flushAll();
    }

    @org.junit.jupiter.api.AfterEach
    void closeBackend() {
        backend.close();
    }

    private Worker recording() {
        return (args, ctx) -> ledger.complete(ledger.start(args, ctx));
    }

    private RedisWorkerRuntime javaWorkers(WorkerRegistry registry) {
        ExecutionCore core = ExecutionCore.builder(registry).retryPolicy(RetryPolicy.fixed(Duration.ofHours(1))).build();
        RedisWorkerRuntime r = backend.workers(core, List.of("default"), 2);
        r.start();
        return r;
    }

    @Test
    void jobsPushedByRubyRunInJava() throws Exception {
        JsonNode bulk = Ruby.run(redis.uri(), "push.rb", "RubyPushedWorker", "20");
        JsonNode scheduled = Ruby.run(redis.uri(), "push.rb", "RubyPushedWorker", "3", "default", "1");
        List<String> jids = new ArrayList<>();
        bulk.forEach(j -> jids.add(j.asText()));
        scheduled.forEach(j -> jids.add(j.asText()));
        assertEquals(23, jids.size());

        try (RedisWorkerRuntime workers = javaWorkers(WorkerRegistry.builder()
                .register("RubyPushedWorker", recording()).build())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> ledger.completedAll(jids));
        }
        Ledger.Run first = ledger.starts(bulk.get(0).asText()).get(0);
        assertEquals("[0,\"ruby-0\",{\"nested\":[1.5,null,true]}]", first.argsJson(), "args as Ruby wrote them");
        assertEquals(1, first.attempt());
        assertEquals(java.util.Map.of(), ledger.duplicates());
    }

    @Test
    void jobsEnqueuedByJavaRunInRubySidekiq() throws Exception {
        List<String> jids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            jids.add(backend.queue().enqueue(Job.builder("JavaEnqueuedWorker").args(i, "java-" + i, 2.5, null).build()));
        }
        jids.add(backend.queue().enqueueIn(Job.of("JavaEnqueuedWorker", "later"), Duration.ofSeconds(1)));

        Path log = Files.createTempFile("sidekiq-", ".log");
        Process sidekiq = Ruby.sidekiq(redis.uri(), "default", log);
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> !sidekiq.isAlive()
                    || backend.redis().smembers("test:ruby-ran").containsAll(jids));
            assertTrue(sidekiq.isAlive(), "sidekiq exited early:\n" + Files.readString(log));
        } finally {
            sidekiq.destroy();
            if (!sidekiq.waitFor(30, TimeUnit.SECONDS)) {
                sidekiq.destroyForcibly();
            }
        }
        assertEquals("[0,\"java-0\",2.5,null]", backend.redis().hget("test:ruby-args", jids.get(0)),
                "Ruby received the args Java sent");
        assertEquals(0, backend.redis().llen("queue:default"));
    }

    @Test
    void retryAndDeadEntriesWrittenByJavaReadCorrectlyInRuby() throws Exception {
        Worker failing = (args, ctx) -> {
            throw new IllegalStateException("java says no to " + args.get(0).asText());
        };
        WorkerRegistry registry = WorkerRegistry.builder()
                .register("FlakyJavaWorker", failing)
                .register("DoomedJavaWorker", failing, WorkerOptions.custom().maxRetries(0).build()).build();
        String retried = backend.queue().enqueue(Job.of("FlakyJavaWorker", "a"));
        String dead = backend.queue().enqueue(Job.of("DoomedJavaWorker", "b"));
        Instant before = Instant.now();
        try (RedisWorkerRuntime workers = javaWorkers(registry)) {
            await().atMost(Duration.ofSeconds(30)).until(() -> backend.admin().retrySize() == 1
                    && backend.admin().deadSize() == 1);
        }
        JsonNode seen = Ruby.run(redis.uri(), "inspect.rb");

        JsonNode r = seen.get("retry").get(0);
        assertEquals(retried, r.get("jid").asText());
        assertEquals("FlakyJavaWorker", r.get("class").asText());
        assertEquals("[\"a\"]", r.get("args").toString());
        assertEquals("default", r.get("queue").asText());
        assertEquals("java.lang.IllegalStateException", r.get("error_class").asText());
        assertEquals("java says no to a", r.get("error_message").asText());
        assertEquals(0, r.get("retry_count").asInt());
        assertTrue(r.get("failed_at").asDouble() >= before.getEpochSecond(), "failed_at is epoch seconds: " + r);
        double due = r.get("at").asDouble();
        assertTrue(due > before.plus(Duration.ofMinutes(59)).getEpochSecond()
                && due < Instant.now().plus(Duration.ofMinutes(61)).getEpochSecond(), "due in an hour: " + r);

        JsonNode d = seen.get("dead").get(0);
        assertEquals(dead, d.get("jid").asText());
        assertEquals("DoomedJavaWorker", d.get("class").asText());
        assertEquals("java says no to b", d.get("error_message").asText());
        assertEquals("java.lang.IllegalStateException", d.get("error_class").asText());
        assertTrue(d.get("score").asDouble() >= before.getEpochSecond(), "scored by time of death: " + d);
        assertEquals(2, seen.get("stats").get("processed").asInt(), "stat:processed flushed as Sidekiq does");
        assertEquals(2, seen.get("stats").get("failed").asInt(), "stat:failed flushed as Sidekiq does");
    }

    @Test
    void retryWrittenByRubyIsRetriedByJava() throws Exception {
        String jid = Ruby.run(redis.uri(), "fail_in_ruby.rb", "RubyFailedWorker", "again").asText();
        try (RedisWorkerRuntime workers = javaWorkers(WorkerRegistry.builder()
                .register("RubyFailedWorker", recording()).build())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> ledger.completedAll(List.of(jid)));
        }
        Ledger.Run run = ledger.starts(jid).get(0);
        assertEquals(2, run.attempt(), "second attempt: Ruby's retry_count 0 was read");
        assertEquals("[\"again\"]", run.argsJson());
        assertEquals(0, backend.admin().retrySize());
    }

    @Test
    void javaProcessIsListedBySidekiqProcessSetWithItsBusyJobs() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Worker blocking = (args, ctx) -> release.await(30, TimeUnit.SECONDS);
        String jid = backend.queue().enqueue(Job.of("BlockingWorker", 1));
        try (RedisWorkerRuntime workers = javaWorkers(WorkerRegistry.builder().register("BlockingWorker", blocking)
                .build())) {
            String identity = workers.identity();
            // Wait for a heartbeat that saw the job busy.
            await().atMost(Duration.ofSeconds(10)).until(() -> "1".equals(backend.redis().hget(identity, "busy")));
            JsonNode seen = Ruby.run(redis.uri(), "inspect.rb");
            release.countDown();

            JsonNode p = null;
            for (JsonNode n : seen.get("processes")) {
                if (n.get("identity").asText().equals(identity)) {
                    p = n;
                }
            }
            assertNotNull(p, "Sidekiq::ProcessSet lists the Java process " + identity + ": " + seen.get("processes"));
            assertEquals("[\"default\"]", p.get("queues").toString());
            assertEquals(2, p.get("concurrency").asInt());
            assertEquals(1, p.get("busy").asInt());
            assertEquals(ProcessHandle.current().pid(), p.get("pid").asLong());
            assertFalse(p.get("stopping").asBoolean());
            assertTrue(p.get("beat").asDouble() > Instant.now().minusSeconds(30).getEpochSecond());
            assertEquals(jid, seen.get("work").get(0).get("jid").asText(), "Sidekiq::WorkSet shows the busy job");
            assertEquals(identity, seen.get("work").get(0).get("process").asText());

            assertTrue(workers.stop(Duration.ofSeconds(10)));
            Set<String> listed = new HashSet<>();
            Ruby.run(redis.uri(), "inspect.rb").get("processes").forEach(n -> listed.add(n.get("identity").asText()));
            assertFalse(listed.contains(identity), "gone from ProcessSet after stop");
        }
    }
}

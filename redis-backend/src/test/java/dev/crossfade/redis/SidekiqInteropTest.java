package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.internal.Json;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.Worker;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.tck.Ledger;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Wire compatibility with real Ruby Sidekiq, both ways, the same scenarios for each generation ({@link Sidekiq6InteropTest}
 * on Debian's MRI, {@link Sidekiq8InteropTest} on JRuby). Sidekiq's client, API and Web UI (rendered through
 * {@code Rack::MockRequest}) run in one Ruby process per class. Sidekiq (without the redis-namespace gem) uses plain key
 * names, so these tests use a private Redis, emptied before each test, and no namespace.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class SidekiqInteropTest {
    private LocalRedis redis;
    private Ruby.Session ruby;
    private RedisBackend backend;
    /** Why this Sidekiq is not here (the Sidekiq 8 kit is absent), else null: each test is skipped with it. */
    private String absent;

    private final Ledger ledger = new Ledger();

    abstract Ruby.Kit kit();

    @BeforeAll
    void rubyAndRedis() throws Exception {
        absent = kit().absence();
        if (absent != null) {
            return;
        }
        redis = LocalRedis.builder().build().start();
        ruby = new Ruby.Session(kit(), redis.uri());
    }

    @AfterAll
    void stopRubyAndRedis() throws Exception {
        if (ruby != null) {
            ruby.close();
        }
        if (redis != null) {
            redis.close();
        }
    }

    @BeforeEach
    void emptyRedis() {
        Assumptions.assumeTrue(absent == null, absent);
        backend = RedisBackend.create(TestConfigs.fast(redis.uri(), "")
                .sidekiqVersion(kit().version())
                .build());
        backend.redis().flushAll();
    }

    @AfterEach
    void closeBackend() {
        if (backend != null) {
            backend.close();
        }
    }

    private Worker recording() {
        return (args, ctx) -> ledger.complete(ledger.start(args, ctx));
    }

    private RedisWorkerRuntime javaWorkers(WorkerRegistry registry) {
        ExecutionCore core = ExecutionCore.builder(registry)
                .retryPolicy(RetryPolicy.fixed(Duration.ofHours(1)))
                .build();
        RedisWorkerRuntime r = backend.workers(core, List.of("default"), 2);
        r.start();
        return r;
    }

    private boolean millis() {
        return kit().version() == SidekiqVersion.V8;
    }

    @Test
    void jobsPushedByRubyRunInJavaWithTheirArgsExactly() throws Exception {
        JsonNode bulk = ruby.call("push", "class", "RubyPushedWorker", "count", 20);
        JsonNode scheduled = ruby.call("push", "class", "RubyPushedWorker", "count", 3, "delay", 1);
        JsonNode nasty = ruby.call("push_nasty", "class", "NastyArgsWorker");
        List<String> jids = new ArrayList<>();
        bulk.forEach(j -> jids.add(j.asText()));
        scheduled.forEach(j -> jids.add(j.asText()));
        assertEquals(23, jids.size());
        Map<String, ArrayNode> received = new ConcurrentHashMap<>();
        try (RedisWorkerRuntime workers = javaWorkers(WorkerRegistry.builder()
                .register("RubyPushedWorker", recording())
                .register("NastyArgsWorker", (args, ctx) -> received.put(ctx.jid(), args.raw()))
                .build())) {
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> ledger.completedAll(jids)
                            && received.containsKey(nasty.get("jid").asText()));
        }
        Ledger.Run first = ledger.starts(bulk.get(0).asText()).get(0);
        assertEquals("[0,\"ruby-0\",{\"nested\":[1.5,null,true]}]", first.argsJson(), "args as Ruby wrote them");
        assertEquals(1, first.attempt());
        assertEquals(Map.of(), ledger.duplicates());
        // Floats, 2^70, -2^64, unicode, NUL, deep hashes and nil arrive as Ruby dumped them, number for number.
        JsonNode sent = Json.mapper().readTree(nasty.get("args").asText());
        ArrayNode got = received.get(nasty.get("jid").asText());
        assertEquals(sent, got);
        assertEquals(new BigInteger("1180591620717411303424"), got.get(4).bigIntegerValue());
        assertEquals("nul\u0000inside", got.get(12).textValue());
    }

    @Test
    void jobsEnqueuedByJavaRunInRubySidekiqWithTheirArgsExactly() throws Exception {
        List<String> jids = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            jids.add(backend.queue()
                    .enqueue(Job.builder("JavaEnqueuedWorker")
                            .args(i, "java-" + i, 2.5, null)
                            .build()));
        }
        Object[] nasty = {
            0.1,
            new BigInteger("1180591620717411303424"),
            "ünïcödé ✓ 🎉",
            "nul\u0000inside",
            Map.of("deep", Map.of("er", List.of(1, List.of(2, Map.of("x", "y"))))),
            null,
            -2.5e-8
        };
        String nastyJid = backend.queue()
                .enqueue(Job.builder("JavaEnqueuedWorker").args(nasty).build());
        jids.add(nastyJid);
        jids.add(backend.queue().enqueueIn(Job.of("JavaEnqueuedWorker", "later"), Duration.ofSeconds(1)));

        Path log = Files.createTempFile("sidekiq-", ".log");
        Process sidekiq = Ruby.sidekiq(kit(), redis.uri(), "default", log);
        try {
            await().atMost(Duration.ofSeconds(60))
                    .until(() -> !sidekiq.isAlive()
                            || backend.redis().smembers("test:ruby-ran").containsAll(jids));
            assertTrue(sidekiq.isAlive(), "sidekiq exited early:\n" + Files.readString(log));
            // With the Ruby server registered, a backend left to detect the generation finds it.
            try (RedisBackend detecting =
                    RedisBackend.create(TestConfigs.fast(redis.uri(), "").build())) {
                assertEquals(kit().version(), detecting.sidekiqVersion());
            }
        } finally {
            sidekiq.destroy();
            if (!sidekiq.waitFor(30, TimeUnit.SECONDS)) {
                sidekiq.destroyForcibly();
            }
        }
        assertEquals(
                "[0,\"java-0\",2.5,null]",
                backend.redis().hget("test:ruby-args", jids.get(0)),
                "Ruby received the args Java sent");
        assertEquals(
                Json.mapper().valueToTree(nasty),
                Json.mapper().readTree(backend.redis().hget("test:ruby-args", nastyJid)));
        assertEquals(0, backend.redis().llen("queue:default"));
    }

    @Test
    void javaFailuresAreListedBySidekiqAndPutBackByItsRetryButtons() throws Exception {
        Set<String> failing = ConcurrentHashMap.newKeySet();
        Worker flaky = (args, ctx) -> {
            if (failing.contains(ctx.jid())) {
                throw new IllegalStateException("java says no to " + args.get(0).asText());
            }
            ledger.complete(ledger.start(args, ctx));
        };
        WorkerRegistry registry = WorkerRegistry.builder()
                .register("FlakyJavaWorker", flaky)
                .register(
                        "DoomedJavaWorker",
                        flaky,
                        WorkerOptions.custom().maxRetries(0).build())
                .build();
        String retried = backend.queue().enqueue(Job.of("FlakyJavaWorker", "a"));
        String dead = backend.queue().enqueue(Job.of("DoomedJavaWorker", "b"));
        failing.addAll(List.of(retried, dead));
        Instant before = Instant.now();
        try (RedisWorkerRuntime workers = javaWorkers(registry)) {
            await().atMost(Duration.ofSeconds(30))
                    .until(() ->
                            backend.admin().retrySize() == 1 && backend.admin().deadSize() == 1);
            await().atMost(Duration.ofSeconds(10)).until(() -> backend.redis().get("stat:failed") != null);

            JsonNode seen = ruby.call("inspect");
            JsonNode r = seen.get("retry").get(0);
            assertEquals(retried, r.get("jid").asText());
            assertEquals("FlakyJavaWorker", r.get("class").asText());
            assertEquals("[\"a\"]", r.get("args").toString());
            assertEquals("default", r.get("queue").asText());
            assertEquals("java.lang.IllegalStateException", r.get("error_class").asText());
            assertEquals("java says no to a", r.get("error_message").asText());
            assertEquals(0, r.get("retry_count").asInt());
            JsonNode failedAt = r.get("failed_at");
            if (millis()) {
                assertTrue(
                        failedAt.isIntegralNumber() && failedAt.asLong() >= before.toEpochMilli(),
                        "failed_at in Sidekiq 8's integer milliseconds: " + r);
            } else {
                assertTrue(
                        failedAt.isFloatingPointNumber() && failedAt.asDouble() >= before.getEpochSecond(),
                        "failed_at in float seconds: " + r);
            }
            double due = r.get("at").asDouble();
            assertTrue(
                    due > before.plus(Duration.ofMinutes(59)).getEpochSecond()
                            && due < Instant.now().plus(Duration.ofMinutes(61)).getEpochSecond(),
                    "due in an hour: " + r);

            JsonNode d = seen.get("dead").get(0);
            assertEquals(dead, d.get("jid").asText());
            assertEquals("DoomedJavaWorker", d.get("class").asText());
            assertEquals("java says no to b", d.get("error_message").asText());
            assertEquals("java.lang.IllegalStateException", d.get("error_class").asText());
            assertTrue(d.get("score").asDouble() >= before.getEpochSecond(), "scored by time of death: " + d);
            assertEquals(2, seen.get("stats").get("failed").asInt(), "stat:failed flushed as Sidekiq does");

            // The pages a person looks at.
            String retries = web("/retries");
            assertTrue(
                    retries.contains("FlakyJavaWorker")
                            && retries.contains("java.lang.IllegalStateException")
                            && retries.contains("java says no to a"),
                    "/retries lists the Java failure");
            String morgue = web("/morgue");
            assertTrue(
                    morgue.contains("DoomedJavaWorker")
                            && morgue.contains("java.lang.IllegalStateException")
                            && morgue.contains("java says no to b"),
                    "/morgue lists the Java death");

            // Sidekiq's own Retry buttons put them back; Java runs them.
            failing.clear();
            ruby.call("retry_all");
            ruby.call("dead_retry_all");
            await().atMost(Duration.ofSeconds(30)).until(() -> ledger.completedAll(List.of(retried, dead)));
        }
        assertEquals(0, backend.admin().retrySize());
        assertEquals(0, backend.admin().deadSize());
    }

    @Test
    void retryWrittenByRubyIsRetriedByJava() throws Exception {
        String jid = ruby.call("fail_in_ruby", "class", "RubyFailedWorker", "arg", "again")
                .asText();
        try (RedisWorkerRuntime workers = javaWorkers(WorkerRegistry.builder()
                .register("RubyFailedWorker", recording())
                .build())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> ledger.completedAll(List.of(jid)));
        }
        Ledger.Run run = ledger.starts(jid).get(0);
        assertEquals(2, run.attempt(), "second attempt: Ruby's retry_count 0 was read");
        assertEquals("[\"again\"]", run.argsJson());
        assertEquals(0, backend.admin().retrySize());
    }

    @Test
    void deadJobWrittenByRubyIsPutBackByJavaAndRunByJava() throws Exception {
        String jid = ruby.call("kill_in_ruby", "class", "RubyDeadWorker", "arg", "revived")
                .asText();
        assertEquals(1, backend.admin().deadSize());
        assertTrue(backend.admin().retryDead(jid), "Java's dead retry finds the entry Ruby wrote");
        try (RedisWorkerRuntime workers = javaWorkers(
                WorkerRegistry.builder().register("RubyDeadWorker", recording()).build())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> ledger.completedAll(List.of(jid)));
        }
        assertEquals("[\"revived\"]", ledger.starts(jid).get(0).argsJson());
        assertEquals(0, backend.admin().deadSize());
    }

    @Test
    void javaProcessIsListedBySidekiqWithItsBusyJobsAndQuietedByIt() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        Worker blocking = (args, ctx) -> release.await(30, TimeUnit.SECONDS);
        String jid = backend.queue().enqueue(Job.of("BlockingWorker", 1));
        try (RedisWorkerRuntime workers = javaWorkers(WorkerRegistry.builder()
                .register("BlockingWorker", blocking)
                .register("Quick", (args, ctx) -> {})
                .build())) {
            String identity = workers.identity();
            // Wait for a heartbeat that saw the job busy.
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> "1".equals(backend.redis().hget(identity, "busy")));
            JsonNode seen = ruby.call("inspect");
            String busy = web("/busy");

            JsonNode p = null;
            for (JsonNode n : seen.get("processes")) {
                if (n.get("identity").asText().equals(identity)) {
                    p = n;
                }
            }
            assertNotNull(p, "Sidekiq::ProcessSet lists the Java process " + identity + ": " + seen.get("processes"));
            assertEquals("[\"default\"]", p.get("queues").toString());
            assertEquals(2, p.get("concurrency").asInt(), "the real thread count: " + p);
            assertEquals(1, p.get("busy").asInt());
            assertEquals(ProcessHandle.current().pid(), p.get("pid").asLong());
            assertFalse(p.get("stopping").asBoolean());
            assertTrue(p.get("beat").asDouble() > Instant.now().minusSeconds(30).getEpochSecond());
            assertEquals(jid, seen.get("work").get(0).get("jid").asText(), "Sidekiq::WorkSet shows the busy job");
            assertEquals(identity, seen.get("work").get(0).get("process").asText());

            String host = identity.substring(0, identity.indexOf(':'));
            assertTrue(busy.contains(host + ":" + ProcessHandle.current().pid()), "/busy lists the Java process");
            assertTrue(busy.contains(jid) && busy.contains("BlockingWorker"), "/busy lists the running Java job");
            // The Threads and Busy cells of the process row: 2 and 1 (Sidekiq 8 wraps numbers in a span).
            assertTrue(
                    busy.matches("(?s).*<td[^>]*>\\s*(<span[^>]*>)?2(</span>)?\\s*</td>\\s*"
                            + "<td[^>]*>\\s*(<span[^>]*>)?1(</span>)?\\s*</td>.*"),
                    "/busy shows 2 threads, 1 busy: " + busy);
            assertTrue(busy.matches("(?s).*Queues: </b>\\s*default.*"), "/busy shows the queue");

            // Quiet, as the Web UI's button does: the Java process stops fetching.
            ruby.call("quiet", "identity", identity);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> "true".equals(backend.redis().hget(identity, "quiet")));
            assertTrue(
                    ruby.call("inspect").get("processes").findValues("stopping").stream()
                            .anyMatch(JsonNode::asBoolean),
                    "Sidekiq sees it stopping");
            String quick = backend.queue().enqueue(Job.of("Quick"));
            Thread.sleep(1_000); // two fetch rounds: a quiet process takes nothing
            assertEquals(1, backend.redis().llen("queue:default"), "a quiet process fetches no job " + quick);
            release.countDown();

            assertTrue(workers.stop(Duration.ofSeconds(10)));
            Set<String> listed = new HashSet<>();
            ruby.call("inspect")
                    .get("processes")
                    .forEach(n -> listed.add(n.get("identity").asText()));
            assertFalse(listed.contains(identity), "gone from ProcessSet after stop");
        }
    }

    @Test
    void activeJobJobsRunOnJavaWorkersAndJavaWritesThemAsRailsDoes() throws Exception {
        List<String> jids = new ArrayList<>();
        for (String wrapper : List.of(
                dev.crossfade.api.activejob.ActiveJob.WRAPPER, dev.crossfade.api.activejob.ActiveJob.LEGACY_WRAPPER)) {
            jids.add(ruby.call("push_active_job", "wrapper", wrapper).asText());
        }
        Map<String, String> got = new ConcurrentHashMap<>();
        try (RedisWorkerRuntime workers = javaWorkers(WorkerRegistry.builder()
                .register(
                        "WelcomeJob",
                        (args, ctx) -> got.put(ctx.jid(), args.raw().toString()))
                .build())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> got.keySet().containsAll(jids));
        }
        for (String jid : jids) {
            assertEquals("[\"gid://shop/User/42\",\"hi\",{\"plan\":\"pro\"},{\"locale\":\"fr\"}]", got.get(jid));
        }
        // A Java-written Active Job job is one to Sidekiq's own API: it shows the job class and its arguments.
        // Sidekiq 6 knows only the wrapper name of its time.
        String wrapper = kit() == Ruby.Kit.SIDEKIQ6
                ? dev.crossfade.api.activejob.ActiveJob.LEGACY_WRAPPER
                : dev.crossfade.api.activejob.ActiveJob.WRAPPER;
        String jid = backend.queue()
                .enqueue(dev.crossfade.api.activejob.ActiveJob.job("WelcomeJob")
                        .wrapper(wrapper)
                        .args("gid://shop/User/42", "hi", Map.of("plan", "pro"))
                        .build());
        JsonNode seen = ruby.call("queued_view").get(0);
        assertEquals(jid, seen.get("jid").asText());
        assertEquals(wrapper, seen.get("klass").asText());
        assertEquals("WelcomeJob", seen.get("display_class").asText());
        // Sidekiq 6.4's display drops only GlobalID markers; 8's drops the hash markers too.
        assertEquals(
                kit() == Ruby.Kit.SIDEKIQ6
                        ? "[\"gid://shop/User/42\",\"hi\",{\"plan\":\"pro\",\"_aj_symbol_keys\":[]}]"
                        : "[\"gid://shop/User/42\",\"hi\",{\"plan\":\"pro\"}]",
                seen.get("display_args").toString());
        assertEquals("WelcomeJob", seen.get("item").get("wrapped").asText());
    }

    private String web(String path) throws Exception {
        JsonNode page = ruby.call("web", "path", path);
        assertEquals(200, page.get("status").asInt(), path + ": " + page);
        return page.get("body").asText();
    }

    ExecutionCore core(WorkerRegistry registry) {
        return ExecutionCore.builder(registry).build();
    }

    RedisBackend backend() {
        return backend;
    }

    Ruby.Session ruby() {
        return ruby;
    }

    /** For the generation-specific tests of subclasses. */
    String page(String path) throws Exception {
        return web(path);
    }
}

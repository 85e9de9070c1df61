package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.api.Job;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.tck.PayloadCorpus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every payload of the {@link PayloadCorpus}, the 10 MB one included, pushed raw into a queue between good jobs while a
 * runtime is fetching: each ends where its fate says (run once, acknowledged unrun, or dead with a reason), no thread
 * dies, nothing is left in progress, and the runtime goes on running good jobs afterwards.
 */
@ExtendWith(CrossfadeServices.class)
class HostilePayloadTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String FUZZ = "FuzzJob";
    private static final String GOOD = "GoodJob";
    private static final String QUEUE = "fuzz";
    /** What the execution core keeps of an undecodable payload in its dead envelope. */
    private static final int KEPT_PAYLOAD = 64 * 1024;

    @Test
    void everyHostilePayloadEndsWhereItsFateSaysAndTheRuntimeKeepsWorking(RedisService redis, TestNamespace ns) {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (RedisBackend backend = RedisBackend.create(
                TestConfigs.fast(redis.uri(), ns.value()).meterRegistry(meters).build())) {
            AtomicInteger fuzzRuns = new AtomicInteger();
            Map<String, AtomicInteger> goodRuns = new ConcurrentHashMap<>();
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register(FUZZ, (args, ctx) -> {
                        args.raw();
                        fuzzRuns.incrementAndGet();
                    })
                    .register(
                            GOOD,
                            (args, ctx) -> goodRuns.computeIfAbsent(ctx.jid(), k -> new AtomicInteger())
                                    .incrementAndGet())
                    .build();
            List<PayloadCorpus.Case> cases = distinct(PayloadCorpus.cases(FUZZ, QUEUE, true));
            assertTrue(cases.stream().anyMatch(c -> c.payload().length > 10_000_000), "the 10 MB case is included");

            byte[] queueKey = backend.key("queue:" + QUEUE).getBytes(StandardCharsets.UTF_8);
            try (RedisWorkerRuntime workers =
                    backend.workers(ExecutionCore.builder(registry).build(), List.of(QUEUE), 4)) {
                workers.start();
                List<String> good = new ArrayList<>();
                for (PayloadCorpus.Case c : cases) {
                    good.add(pushGood(backend, queueKey));
                    backend.redis().lpush(queueKey, c.payload());
                }
                good.add(pushGood(backend, queueKey));

                long runs = cases.stream().filter(PayloadCorpus.Case::runs).count();
                long dead = cases.stream()
                        .filter(c -> c.fate() == PayloadCorpus.Fate.DEAD)
                        .count();
                await().atMost(Duration.ofSeconds(120))
                        .until(() -> goodRuns.keySet().containsAll(good)
                                && fuzzRuns.get() >= runs
                                && backend.admin().deadSize() >= dead
                                && backend.redis().llen(queueKey) == 0);
                String inProgress = backend.key("crossfade:inprogress:" + workers.identity() + "|" + QUEUE);
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> backend.redis().llen(inProgress) == 0);

                assertEquals(runs, fuzzRuns.get(), "every RUNS case ran once, no SHADOW or DEAD case ran");
                assertEquals(Map.of(), onceOnly(goodRuns), "every good job ran once");
                assertEquals(dead, backend.admin().deadSize(), "every DEAD case, and nothing else, is dead");
                assertDeadEntriesMatch(backend, cases);
                assertEquals(0, backend.admin().retrySize(), "nothing was retried");
                assertEquals(0.0, replaced(meters), "no thread died and was replaced");
                assertEquals(4, workerThreads(workers), "all four worker threads are alive");

                List<String> after = new ArrayList<>();
                for (int i = 0; i < 50; i++) {
                    after.add(pushGood(backend, queueKey));
                }
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> goodRuns.keySet().containsAll(after));
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> backend.redis().llen(inProgress) == 0);
                assertEquals(Map.of(), onceOnly(goodRuns));
            }
        }
    }

    /**
     * The dead set holds exactly the DEAD cases: an undecodable one as an invalid-payload envelope carrying its raw
     * bytes, a decodable one (naming another worker class) as itself; each with an error class and a message.
     */
    private static void assertDeadEntriesMatch(RedisBackend backend, List<PayloadCorpus.Case> cases) {
        Map<String, Integer> expected = new HashMap<>();
        for (PayloadCorpus.Case c : cases) {
            if (c.fate() != PayloadCorpus.Fate.DEAD) {
                continue;
            }
            String key;
            try {
                key = "class " + JobCodec.defaults().decode(c.payload()).className();
            } catch (RuntimeException | StackOverflowError e) {
                key = "raw "
                        + new String(
                                c.payload(), 0, Math.min(c.payload().length, KEPT_PAYLOAD), StandardCharsets.UTF_8);
            }
            expected.merge(key, 1, Integer::sum);
        }
        Map<String, Integer> actual = new HashMap<>();
        boolean sawTooLarge = false;
        for (String entry : backend.redis().zrange(backend.key("dead"), 0, -1)) {
            JsonNode n = read(entry);
            String message = n.path("error_message").asText("");
            assertTrue(
                    !message.isBlank() && !n.path("error_class").asText("").isBlank(),
                    "a dead entry says why: " + abbreviate(entry));
            String key =
                    ExecutionCore.INVALID_PAYLOAD_CLASS.equals(n.path("class").asText())
                            ? "raw " + n.path("args").path(0).asText()
                            : "class " + n.path("class").asText();
            actual.merge(key, 1, Integer::sum);
            sawTooLarge |= message.contains("over the") && message.contains("payload limit");
        }
        assertTrue(expected.equals(actual), "dead entries match the DEAD cases");
        assertTrue(sawTooLarge, "the 10 MB payload is dead as too large");
    }

    private static String pushGood(RedisBackend backend, byte[] queueKey) {
        Job job = Job.of(GOOD, 1);
        backend.redis().lpush(queueKey, JobCodec.defaults().encodeEnqueued(job, Instant.now()));
        return job.jid();
    }

    /** The corpus without byte-identical repeats (a seeded byte flip may land on the same byte twice). */
    private static List<PayloadCorpus.Case> distinct(List<PayloadCorpus.Case> cases) {
        Map<ByteBuffer, PayloadCorpus.Case> seen = new LinkedHashMap<>();
        for (PayloadCorpus.Case c : cases) {
            seen.putIfAbsent(ByteBuffer.wrap(c.payload()), c);
        }
        return List.copyOf(seen.values());
    }

    private static Map<String, Integer> onceOnly(Map<String, AtomicInteger> runs) {
        Map<String, Integer> more = new HashMap<>();
        runs.forEach((jid, n) -> {
            if (n.get() != 1) {
                more.put(jid, n.get());
            }
        });
        return more;
    }

    static double replaced(SimpleMeterRegistry meters) {
        return meters.find("crossfade.redis.threads.replaced").counters().stream()
                .mapToDouble(Counter::count)
                .sum();
    }

    /** Live worker threads of one runtime, found by the nonce its thread names carry. */
    static long workerThreads(RedisWorkerRuntime workers) {
        String nonce = workers.identity().substring(workers.identity().lastIndexOf(':') + 1);
        Set<Thread> all = Thread.getAllStackTraces().keySet();
        return all.stream()
                .filter(t -> t.isAlive() && t.getName().startsWith("crossfade-redis-worker-" + nonce))
                .count();
    }

    private static JsonNode read(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new AssertionError("a dead entry is not JSON: " + abbreviate(json), e);
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "…" : s;
    }
}

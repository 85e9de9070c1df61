package dev.crossfade.router.shadow;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.crossfade.api.Backend;
import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.api.testing.InMemoryBackend;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.LocalLaunchDarkly;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.LaunchDarklyEndpoints;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.router.RouterConfig;
import dev.crossfade.router.RoutingJobQueue;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A LaunchDarkly migration flag driven through its six stages, streamed by {@link LocalLaunchDarkly} to the real SDK:
 * each enqueue is a {@code write} op (backends written, latency and errors per side) and each compared pair of copies
 * a {@code read} op (run time and errors per side, consistency from the shadow comparison), as the SDK posts them to
 * the events endpoint. The backends are in memory, so that Kafka's writes can be failed on demand and each side's runs
 * are told apart; the real-backend paths are covered by the router's integration tests.
 */
@ExtendWith(CrossfadeServices.class)
class MigrationOpEventsTest {
    private static final String FLAG = "crossfade-migration";
    private static final String[] STAGES = {"off", "dualwrite", "shadow", "live", "rampdown", "complete"};

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final InMemoryBackend redis = InMemoryBackend.fake();
    private final InMemoryBackend kafkaStore = InMemoryBackend.fake();
    private final AtomicInteger kafkaWrites = new AtomicInteger();

    /** Kafka, failing every 4th write: errors on the new side. */
    private final JobQueue kafka = new JobQueue() {
        private void check() {
            if (kafkaWrites.incrementAndGet() % 4 == 0) {
                throw new EnqueueException(Backend.KAFKA, "broker unreachable (test)");
            }
        }

        @Override
        public String enqueue(Job job) {
            check();
            return kafkaStore.queue().enqueue(job);
        }

        @Override
        public List<String> enqueueAll(List<Job> jobs) {
            check();
            return kafkaStore.queue().enqueueAll(jobs);
        }

        @Override
        public List<String> enqueueAll(List<Job> jobs, Duration limit) {
            check();
            return kafkaStore.queue().enqueueAll(jobs, limit);
        }

        @Override
        public String enqueueAt(Job job, Instant at) {
            check();
            return kafkaStore.queue().enqueueAt(job, at);
        }

        @Override
        public void close() {}
    };

    private static String stage(int variation) {
        return """
                {"on": true, "salt": "m", "variations": ["off", "dualwrite", "shadow", "live", "rampdown", "complete"],
                 "offVariation": 0, "fallthrough": {"variation": %d}, "targets": [], "rules": [], "prerequisites": []}""".formatted(variation);
    }

    @Test
    void everyStageSendsMigrationOpsWithWhatItMeasures(LocalLaunchDarkly ld) {
        ld.setFlag(FlagsConfig.DEFAULT_KILL_SWITCH_FLAG, """
                {"on": false, "variations": [false, true], "offVariation": 0, "fallthrough": {"variation": 0}}""");
        ld.setFlag(FLAG, stage(0));
        Set<String> failedOnce = ConcurrentHashMap.newKeySet();
        // Shadow-safe, so both copies run; a "flaky" job fails the first copy that runs (one side errs, and the two
        // disagree).
        WorkerRegistry registry = WorkerRegistry.builder()
                .register(
                        "Quote",
                        (args, ctx) -> {
                            String what = args.get(0, String.class);
                            if (what.equals("flaky") && failedOnce.add(ctx.jid())) {
                                throw new IllegalStateException("flaky (test)");
                            }
                            ctx.result(what);
                        },
                        WorkerOptions.custom().shadowSafe(true).maxRetries(0).build())
                .build();

        try (RoutingFlags flags = RoutingFlags.start(FlagsConfig.custom()
                        .source(FlagSource.launchDarkly(ld.sdkKey(), LaunchDarklyEndpoints.relayProxy(ld.uri())))
                        .migrationFlag(FLAG)
                        .startWait(Duration.ofSeconds(10))
                        .meterRegistry(meters)
                        .build());
                RoutingJobQueue router = new RoutingJobQueue(
                        redis.queue(),
                        kafka,
                        flags,
                        RouterConfig.custom().meterRegistry(meters).build())) {
            ShadowComparator comparator = new ShadowComparator(
                    Duration.ofSeconds(30), meters, new LocalShadowStore(), new MigrationReads(flags));
            // In memory, every run says MEMORY: tell the comparator which side ran it.
            ExecutionCore onRedis = core(registry, comparator, Backend.REDIS);
            ExecutionCore onKafka = core(registry, comparator, Backend.KAFKA);
            for (int s = 0; s < STAGES.length; s++) {
                String stage = STAGES[s];
                ld.setFlag(FLAG, stage(s));
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> stage.equals(flags.state(1).migrationStage()));
                for (int i = 0; i < 12; i++) {
                    router.enqueue(Job.builder("Quote")
                            .args(i % 3 == 0 ? "flaky" : "q" + i)
                            .routingKey("acct-" + i)
                            .build());
                }
                router.enqueueAll(List.of(
                        Job.builder("Quote").args("batch").routingKey("acct-b").build()));
                for (int i = 0; i < 5; i++) {
                    router.enqueue(Job.builder("Quote").args("unkeyed").build());
                }
                redis.drain(onRedis);
                kafkaStore.drain(onKafka);
            }
        }
        // Closing the client flushed its events.
        List<JsonNode> ops = ld
                .awaitEvents(
                        Duration.ofSeconds(15),
                        ev -> ev.stream()
                                .filter(e ->
                                        "migration_op".equals(e.path("kind").asText()))
                                .anyMatch(e -> "complete"
                                        .equals(e.path("evaluation")
                                                .path("value")
                                                .asText())))
                .stream()
                .filter(e -> "migration_op".equals(e.path("kind").asText()))
                .toList();

        // Jobs without a routing key are never indexed, migration ops or not: only the 13 routing keys are.
        List<JsonNode> index = ld.events().stream()
                .filter(e -> "index".equals(e.path("kind").asText()))
                .toList();
        assertTrue(
                !index.isEmpty()
                        && index.stream()
                                .allMatch(e ->
                                        e.path("context").path("key").asText().startsWith("acct-")),
                index.toString());

        Map<String, Measured> byStage = new TreeMap<>();
        for (JsonNode op : ops) {
            assertEquals(FLAG, op.path("evaluation").path("key").asText(), op.toString());
            byStage.computeIfAbsent(
                            op.path("evaluation").path("value").asText() + "/"
                                    + op.path("operation").asText(),
                            k -> new Measured())
                    .add(op);
        }
        System.out.println("migration ops by stage: " + byStage);
        System.out.println("one write op: "
                + ops.stream()
                        .filter(o -> "write".equals(o.path("operation").asText()))
                        .filter(o -> o.path("measurements").size() > 2)
                        .findFirst()
                        .orElse(null));

        // Writes: which backends, latency of each, and Kafka's failures wherever Kafka is written.
        assertEquals(Set.of("old"), byStage.get("off/write").invoked, "off writes Redis only");
        assertEquals(
                Set.of("new", "old"),
                byStage.get("complete/write").invoked,
                "complete writes Kafka (and Redis when Kafka fails)");
        for (String stage : STAGES) {
            Measured w = byStage.get(stage + "/write");
            assertTrue(w != null && w.ops == 18, stage + ": one write op per enqueue, got " + w);
            assertTrue(w.latency.containsAll(w.invoked), stage + ": latency of each side written: " + w);
            if (!stage.equals("off")) {
                assertTrue(w.errors.contains("new"), stage + ": Kafka's failed writes: " + w);
            }
        }
        // Reads: only stages with a shadow copy run both sides and so measure consistency.
        for (String stage : new String[] {"dualwrite", "shadow", "live", "rampdown"}) {
            Measured r = byStage.get(stage + "/read");
            assertTrue(
                    r != null && r.consistent > 0 && r.inconsistent > 0,
                    stage + ": consistency of each pair, " + "the flaky ones inconsistent: " + r);
            assertEquals(Set.of("old", "new"), r.latency, stage + ": run time of each copy");
            assertTrue(!r.errors.isEmpty(), stage + ": the flaky copies' errors: " + r);
        }
        assertTrue(!byStage.containsKey("off/read") && !byStage.containsKey("complete/read"), byStage.toString());
    }

    private static ExecutionCore core(WorkerRegistry registry, ShadowComparator comparator, Backend side) {
        return ExecutionCore.builder(registry)
                .listener(new ExecutionListener() {
                    @Override
                    public void finished(
                            Job job, Backend backend, Outcome outcome, Instant startedAt, Duration duration) {
                        comparator.finished(job, side, outcome, startedAt, duration);
                    }
                })
                .build();
    }

    /** What the ops of one stage and operation measured, by origin. */
    private static final class Measured {
        int ops;
        final Set<String> invoked = new java.util.TreeSet<>();
        final Set<String> latency = new java.util.TreeSet<>();
        final Set<String> errors = new java.util.TreeSet<>();
        int consistent;
        int inconsistent;

        void add(JsonNode op) {
            ops++;
            for (JsonNode m : op.path("measurements")) {
                switch (m.path("key").asText()) {
                    case "invoked" ->
                        m.path("values").fields().forEachRemaining(e -> {
                            if (e.getValue().asBoolean()) {
                                invoked.add(e.getKey());
                            }
                        });
                    case "latency_ms" -> m.path("values").fieldNames().forEachRemaining(latency::add);
                    case "error" ->
                        m.path("values").fields().forEachRemaining(e -> {
                            if (e.getValue().asBoolean()) {
                                errors.add(e.getKey());
                            }
                        });
                    case "consistent" -> {
                        if (m.path("value").asBoolean()) {
                            consistent++;
                        } else {
                            inconsistent++;
                        }
                    }
                    default -> {}
                }
            }
        }

        @Override
        public String toString() {
            return ops + " ops, invoked " + invoked + ", latency " + latency + ", errors " + errors + ", consistent "
                    + consistent + "/" + (consistent + inconsistent);
        }
    }
}

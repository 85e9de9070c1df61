package dev.crossfade.cli;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.cli.ramp.Ramp;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.cli.runtime.NodeStatus;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.LocalLaunchDarkly;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.flags.file.FlagsFile;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The guarded rollout over real traffic: a {@link Node} with the router and workers on both backends against the shared
 * test Redis and Kafka, flags in a file, a producer enqueuing through the router, and {@link Ramp} driving
 * {@code ramp.steps} 10,50,100 with 1 s holds. It advances through every step while Kafka is healthy (surviving a
 * driver's restart and refusing a second driver), and rolls back to Redis within a second of the guardrail deciding when
 * Kafka-side jobs fail or the Kafka consumer stops; every enqueued job still runs (lost 0).
 */
@ExtendWith(CrossfadeServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RampEndToEndTest {
    static {
        // Every judgement of the driver in the test's output, for a failure's post-mortem.
        System.setProperty("org.slf4j.simpleLogger.log.dev.crossfade.cli.ramp.Ramp", "debug");
    }

    private static final String Q = "ramp";
    /** Drivers a test started, stopped after it so a failed test leaves no driver holding the lease. */
    private final List<Ramp> drivers = new java.util.concurrent.CopyOnWriteArrayList<>();

    private Node node;
    private FlagsFile flags;
    private WorkerRuntime redisWorkers;
    private WorkerRuntime kafkaWorkers;
    /** The node whose router the producer enqueues through, and its Kafka enqueue counter. */
    private volatile Node routing;

    private volatile Counter toKafka;
    private Path dir;
    private RedisService redisService;
    private KafkaService kafkaService;
    private TestNamespace ns;
    private final AtomicBoolean failOnKafka = new AtomicBoolean();
    private final Set<String> enqueued = ConcurrentHashMap.newKeySet();
    private final Set<String> ran = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean producing = new AtomicBoolean();
    private final AtomicLong lastKafkaEnqueueMs = new AtomicLong();
    private Thread producer;

    /** The shared servers, this test's queue, and a ramp quick enough for a test. */
    private CliTestSupport.Settings settings(RedisService redis, KafkaService kafka) {
        return CliTestSupport.settings(dir, CliTestSupport.securedUrl(redis), kafka, ns)
                .set("workers.queues", List.of(Q))
                .set("ramp.steps", "10,50,100")
                .set("ramp.hold", "1s")
                .set("ramp.failure-margin", 10)
                .set("ramp.latency-margin", "2s")
                .set("ramp.max-kafka-lag", "3s");
    }

    @BeforeAll
    void start(RedisService redis, KafkaService kafka, TestNamespace ns) throws Exception {
        this.dir = Files.createTempDirectory("crossfade-ramp");
        this.redisService = redis;
        this.kafkaService = kafka;
        this.ns = ns;
        Path config = settings(redis, kafka).write();
        flags = FlagsFile.at(dir.resolve("flags.json"));
        flags.write(new FlagsFile.Settings(0, false, 0));
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        node = Node.start(CrossfadeConfig.load(config, Map.of()), meters);
        redisWorkers = workers(Backend.REDIS);
        kafkaWorkers = workers(Backend.KAFKA);
        redisWorkers.start();
        kafkaWorkers.start();
        // Kafka's consumer must have joined before a ramp judges its latency: one job through it first.
        Job warm = Job.builder("RampJob").queue(Q).build();
        enqueued.add(warm.jid());
        node.kafka().queue().enqueue(warm);
        await().atMost(Duration.ofSeconds(60)).until(() -> ran.contains(warm.jid()));
        routing = node;
        node.router();
        toKafka =
                meters.find("crossfade.router.enqueued").tag("backend", "kafka").counter();
        assertNotNull(toKafka);
    }

    private WorkerRuntime workers(Backend b) {
        WorkerRegistry.Builder registry = WorkerRegistry.builder()
                .register(
                        "RampJob",
                        (args, ctx) -> {
                            ran.add(ctx.jid());
                            if (failOnKafka.get() && ctx.backend() == Backend.KAFKA) {
                                throw new IllegalStateException("fails on Kafka only");
                            }
                        },
                        WorkerOptions.custom().maxRetries(0).build());
        return node.workers(getClass().getClassLoader(), registry, null, Set.of(Q), Set.of(b), 4);
    }

    @BeforeEach
    void produce() throws Exception {
        // A test that stopped the Kafka consumer leaves lag its restarted workers take a moment to clear: the next ramp
        // must not judge it.
        await().atMost(Duration.ofSeconds(30))
                .until(() -> node.kafka().admin().lag(Q).stream()
                        .allMatch(p -> p.timeLag() == null || p.timeLag().compareTo(Duration.ofSeconds(1)) < 0));
        // The ramp reads outcomes in whole seconds from its start's: let the second in which those late jobs finished
        // (their enqueue-to-start times are the stop's length) end first.
        Thread.sleep(1_050 - System.currentTimeMillis() % 1_000);
        Ramp.clear(node);
        flags.write(new FlagsFile.Settings(0, false, 0));
        failOnKafka.set(false);
        producing.set(true);
        producer = new Thread(
                () -> {
                    AtomicInteger n = new AtomicInteger();
                    while (producing.get()) {
                        for (int i = 0; i < 10; i++) {
                            Counter kafkaCount = toKafka;
                            double before = kafkaCount.count();
                            Job j = Job.builder("RampJob")
                                    .queue(Q)
                                    .routingKey("acct-" + n.incrementAndGet())
                                    .build();
                            try {
                                routing.router().enqueue(j);
                            } catch (RuntimeException e) {
                                // The LaunchDarkly node closing under the producer: not accepted, so not lost.
                                System.out.println("ramp test: enqueue refused: " + e);
                                continue;
                            }
                            enqueued.add(j.jid());
                            if (kafkaCount.count() > before) {
                                lastKafkaEnqueueMs.set(System.currentTimeMillis());
                            }
                        }
                        try {
                            Thread.sleep(25);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                },
                "ramp-test-producer");
        producer.setDaemon(true);
        producer.start();
    }

    @AfterEach
    void stopProducing() throws InterruptedException {
        drivers.forEach(Ramp::stop);
        drivers.clear();
        producing.set(false);
        producer.join(5_000);
        // Lost 0: every job enqueued through the ramp ran, on whichever backend it landed.
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            Set<String> lost = new java.util.HashSet<>(enqueued);
            lost.removeAll(ran);
            assertEquals(Set.of(), lost, "lost");
        });
    }

    @AfterAll
    void stop() {
        if (redisWorkers != null) {
            redisWorkers.stop(Duration.ofSeconds(5));
        }
        if (kafkaWorkers != null) {
            kafkaWorkers.stop(Duration.ofSeconds(5));
        }
        if (node != null) {
            node.close();
        }
    }

    @Test
    void aHealthyRampAdvancesThroughEveryStepAndSurvivesItsDriversRestart() throws Exception {
        Ramp first = Ramp.of(node);
        CompletableFuture<Ramp.End> firstEnd = CompletableFuture.supplyAsync(() -> drive(first));
        await().atMost(Duration.ofSeconds(30)).until(() -> kinds().contains("advance"));
        // One driver per migration: a second is refused while the first holds the lease.
        Ramp.Refused refused =
                assertThrows(Ramp.Refused.class, () -> Ramp.of(node).drive());
        assertTrue(refused.getMessage().contains("another driver"), refused.getMessage());
        first.stop();
        assertEquals(Ramp.End.STOPPED, firstEnd.get());
        assertEquals("running", node.rampStore().state().get("status"));
        assertEquals("50", node.rampStore().state().get("percent"));

        // A new driver resumes at the step the state in Redis names, and finishes.
        assertEquals(Ramp.End.DONE, Ramp.of(node).drive());
        assertEquals(100.0, flags.read().kafkaPercent());
        assertFalse(flags.read().killSwitch());
        List<String> kinds = kinds();
        assertEquals(
                List.of("start", "advance", "stop", "resume", "advance", "done"),
                kinds.subList(kinds.lastIndexOf("start"), kinds.size()));
        Map<String, Object> done = node.rampStore().decisions(1).get(0);
        assertTrue(String.valueOf(done.get("figures")).contains("SPRT"), done.toString());
        assertEquals("done", new NodeStatus(node).ramp(5).get("status"));
    }

    @Test
    void kafkaSideFailuresRollTheRampBackToRedisWithinASecond() throws Exception {
        Ramp ramp = Ramp.of(node);
        double before = toKafka.count();
        CompletableFuture<Ramp.End> end = CompletableFuture.supplyAsync(() -> drive(ramp));
        await().atMost(Duration.ofSeconds(30)).until(() -> toKafka.count() > before + 20);
        failOnKafka.set(true);
        assertEquals(Ramp.End.ROLLED_BACK, end.get());
        Map<String, Object> d = node.rampStore().decisions(1).get(0);
        assertRolledBack(d, "failure-rate");
        assertTrue(String.valueOf(d.get("figures")).contains("failures kafka"), d.toString());
    }

    @Test
    void aStoppedKafkaConsumerRollsTheRampBackOnLag() throws Exception {
        Ramp ramp = Ramp.of(node);
        double before = toKafka.count();
        CompletableFuture<Ramp.End> end = CompletableFuture.supplyAsync(() -> drive(ramp));
        await().atMost(Duration.ofSeconds(30)).until(() -> toKafka.count() > before + 20);
        kafkaWorkers.stop(Duration.ofSeconds(5));
        try {
            assertEquals(Ramp.End.ROLLED_BACK, end.get());
            Map<String, Object> d = node.rampStore().decisions(1).get(0);
            assertRolledBack(d, "kafka-lag");
            assertTrue(String.valueOf(d.get("figures")).contains("kafka lag"), d.toString());
        } finally {
            kafkaWorkers = workers(Backend.KAFKA);
            kafkaWorkers.start();
        }
    }

    /**
     * Flags from LaunchDarkly (the real SDK streaming from {@link LocalLaunchDarkly}): the ramp moves the route flag
     * through LaunchDarkly's REST API, and its rollback holds the routers through Redis and turns the kill switch on
     * there too. This node only routes and drives; the class's workers run the jobs and count the outcomes, as another
     * process would.
     */
    @Test
    void underLaunchDarklyTheRampPatchesTheFlagsAndItsRollbackHoldsTheRouters() throws Exception {
        String route = "{\"on\": false, \"salt\": \"crossfade-route-salt\", \"variations\": [\"redis\", \"kafka\"],"
                + " \"offVariation\": 0, \"fallthrough\": {\"variation\": 0}, \"targets\": [], \"rules\": [],"
                + " \"prerequisites\": []}";
        String kill = "{\"on\": false, \"salt\": \"k\", \"variations\": [false, true], \"offVariation\": 0,"
                + " \"fallthrough\": {\"variation\": 0}, \"targets\": [], \"rules\": [], \"prerequisites\": []}";
        try (LocalLaunchDarkly ld = LocalLaunchDarkly.builder()
                .sdkKey(CliTestSupport.SDK_KEY)
                .flag("crossfade-route", route)
                .flag("crossfade-kill-switch", kill)
                .build()
                .start()) {
            Path config = settings(redisService, kafkaService)
                    .launchDarkly(ld)
                    .set("flags.api-uri", ld.uri())
                    .set("flags.api-token", ld.apiToken())
                    .write("crossfade-ld.yml");
            SimpleMeterRegistry meters = new SimpleMeterRegistry();
            try (Node ldNode = Node.start(CrossfadeConfig.load(config, Map.of()), meters)) {
                ldNode.router();
                toKafka = meters.find("crossfade.router.enqueued")
                        .tag("backend", "kafka")
                        .counter();
                routing = ldNode;
                try {
                    double before = toKafka.count();
                    CompletableFuture<Ramp.End> end = CompletableFuture.supplyAsync(() -> drive(Ramp.of(ldNode)));
                    await().atMost(Duration.ofSeconds(30)).until(() -> toKafka.count() > before + 20);
                    failOnKafka.set(true);
                    assertEquals(Ramp.End.ROLLED_BACK, end.get());
                    Map<String, Object> d = ldNode.rampStore().decisions(1).get(0);
                    assertEquals("failure-rate", d.get("guardrail"), d.toString());
                    long decided = ((Number) d.get("atMs")).longValue();
                    Thread.sleep(1_500);
                    long lag = lastKafkaEnqueueMs.get() - decided;
                    System.out.printf("ramp test: last Kafka enqueue %d ms after the LaunchDarkly rollback%n", lag);
                    assertTrue(lag < 1_000, "a job went to Kafka " + lag + " ms after the rollback was decided");
                    assertNotNull(ldNode.flags().hold());
                    assertTrue(ld.flag("crossfade-kill-switch").path("on").asBoolean(), "kill switch on in LD");
                    assertFalse(ld.flag("crossfade-route").path("on").asBoolean(), "route flag back at 0%");
                    assertTrue(ld.restPatches() >= 3, "patches: " + ld.restPatches());
                    Ramp.clear(ldNode);
                    assertFalse(ld.flag("crossfade-kill-switch").path("on").asBoolean(), "kill switch off again");
                } finally {
                    routing = node;
                    toKafka = node.meters()
                            .find("crossfade.router.enqueued")
                            .tag("backend", "kafka")
                            .counter();
                }
            }
        }
    }

    private void assertRolledBack(Map<String, Object> d, String guardrail) throws InterruptedException {
        assertEquals("rollback", d.get("kind"), d.toString());
        assertEquals(guardrail, d.get("guardrail"), d.toString());
        long decided = ((Number) d.get("atMs")).longValue();
        // Let the producer run on a moment, then check no job went to Kafka later than a second after the decision.
        Thread.sleep(1_500);
        long lag = lastKafkaEnqueueMs.get() - decided;
        System.out.printf("ramp test: last Kafka enqueue %d ms after the %s rollback was decided%n", lag, guardrail);
        assertTrue(lag < 1_000, "a job went to Kafka " + lag + " ms after the rollback was decided");
        assertTrue(flags.read().killSwitch());
        assertEquals(0.0, flags.read().kafkaPercent());
        assertNotNull(node.rampStore().holdReason());
        assertNotNull(node.flags().hold());
        assertEquals("rolled-back", node.rampStore().state().get("status"));
    }

    private List<String> kinds() {
        List<String> out = new java.util.ArrayList<>();
        for (Map<String, Object> d : node.rampStore().decisions(50)) {
            out.add(0, String.valueOf(d.get("kind")));
        }
        return out;
    }

    private Ramp.End drive(Ramp r) {
        drivers.add(r);
        try {
            return r.drive();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.crossfade.flags;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.launchdarkly.sdk.LDContext;
import com.launchdarkly.sdk.LDValue;
import com.launchdarkly.sdk.server.integrations.TestData;
import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.flags.file.FlagsFile;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The routing view against the real LaunchDarkly SDK, fed by its FileData source from real files. */
class RoutingFlagsTest {
    @TempDir
    Path dir;

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    private RoutingFlags start(Path file) {
        return RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file))
                .startWait(Duration.ofSeconds(5))
                .meterRegistry(meters)
                .build());
    }

    private static Job job(String key) {
        return Job.builder("HardWorker").routingKey(key).build();
    }

    @Test
    void rolloutSplitsByPercentStickyPerKeyAndOnlyMovesTowardKafka() {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(25, false, 0));
        try (RoutingFlags flags = start(file.path())) {
            assertTrue(flags.healthy());
            Set<String> onKafka = new HashSet<>();
            for (int i = 0; i < 20_000; i++) {
                if (flags.decide(job("account-" + i)).primary() == Backend.KAFKA) {
                    onKafka.add("account-" + i);
                }
            }
            double share = onKafka.size() / 20_000.0;
            assertTrue(Math.abs(share - 0.25) <= 0.02, "25% rollout sent " + share + " to Kafka");
            for (int i = 0; i < 2_000; i++) {
                String key = "account-" + i;
                assertEquals(onKafka.contains(key), flags.decide(job(key)).primary() == Backend.KAFKA, "sticky " + key);
            }

            file.setKafkaPercent(60);
            await().atMost(Duration.ofSeconds(10)).until(() -> flags.kafkaShare(2000) > 0.5);
            int moved = 0;
            for (int i = 0; i < 20_000; i++) {
                boolean kafkaNow = flags.decide(job("account-" + i)).primary() == Backend.KAFKA;
                assertTrue(kafkaNow || !onKafka.contains("account-" + i), "account-" + i + " moved back to Redis");
                moved += kafkaNow && !onKafka.contains("account-" + i) ? 1 : 0;
            }
            assertTrue(moved > 5_000, "raising 25% to 60% moved " + moved + " keys");
        }
    }

    @Test
    void killSwitchSendsEverythingToRedisWithinASecondOfTheFileChanging() {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(100, false, 100));
        try (RoutingFlags flags = start(file.path())) {
            RouteDecision before = flags.decide(job("a"));
            assertEquals(Backend.KAFKA, before.primary());
            assertEquals(Backend.REDIS, before.shadowTo());

            file.setKillSwitch(true);
            await().atMost(Duration.ofSeconds(1))
                    .pollInterval(Duration.ofMillis(10))
                    .until(() -> flags.decide(job("a")).reason() == RouteDecision.Reason.KILL_SWITCH);
            for (int i = 0; i < 1000; i++) {
                RouteDecision d = flags.decide(job("k" + i));
                assertEquals(Backend.REDIS, d.primary());
                assertNull(d.shadowTo(), "the kill switch stops shadowing");
            }
            assertTrue(file.read().killSwitch());
        }
    }

    /**
     * A flag that is off serves its off variation to every job, so it is read once and remembered until it changes.
     * With every flag off no job's context is even built (the customizer, which runs for each context, counts them).
     */
    @Test
    void flagsThatAreOffAreReadOnceUntilTheyChange() {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(0, false, 0));
        AtomicInteger contexts = new AtomicInteger();
        try (RoutingFlags flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file.path()))
                .meterRegistry(meters)
                .contextCustomizer((job, b) -> contexts.incrementAndGet())
                .build())) {
            for (int i = 0; i < 100; i++) {
                RouteDecision d = flags.decide(job("off-" + i));
                assertEquals(Backend.REDIS, d.primary());
                assertFalse(d.shadowed());
            }
            assertEquals(0, contexts.get(), "contexts built while every flag was off");

            for (int round = 0; round < 2; round++) {
                // Rollouts: each job's own bucket decides, so the flags are evaluated for each job.
                file.write(new FlagsFile.Settings(50, false, 50));
                await().atMost(Duration.ofSeconds(1))
                        .pollInterval(Duration.ofMillis(10))
                        .until(() -> flags.kafkaShare(200) > 0.3);
                int before = contexts.get();
                flags.decide(job("counted"));
                assertEquals(before + 1, contexts.get(), "a rollout is evaluated for each job");

                file.write(new FlagsFile.Settings(0, false, 0));
                await().atMost(Duration.ofSeconds(1))
                        .pollInterval(Duration.ofMillis(10))
                        .until(() -> {
                            RouteDecision d = flags.decide(job("r"));
                            return d.primary() == Backend.REDIS && !d.shadowed();
                        });
            }
        }
    }

    /**
     * A flag that is on but serves one variation to every job (no prerequisites, targets or rules, and a default rule
     * that is one variation or a rollout with one at 100%) is read once too, until it changes: a route flag at 100%
     * builds no job context. Targets and rules make it per job again. Flags here change one at a time, as LaunchDarkly
     * streams them (TestData upserts; FileData, in the test above, replaces them all at once).
     */
    @Test
    void flagsServingOneVariationToEveryJobAreReadOnceUntilTheyChange() {
        TestData td = TestData.dataSource();
        td.update(td.flag("crossfade-kill-switch").booleanFlag().variationForAll(false));
        td.update(td.flag("crossfade-shadow").booleanFlag().variationForAll(false));
        td.update(td.flag("crossfade-route")
                .variations(LDValue.of("redis"), LDValue.of("kafka"))
                .offVariation(0)
                .variationForAll(1));
        AtomicInteger contexts = new AtomicInteger();
        try (RoutingFlags flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.custom("test data", td))
                .meterRegistry(meters)
                .contextCustomizer((job, b) -> contexts.incrementAndGet())
                .build())) {
            assertEquals(0, contextsFor(flags, contexts, Backend.KAFKA), "every flag serves one variation to all");

            td.update(td.flag("crossfade-route").variationForKey(RoutingFlags.JOB_KIND, "vip", 0));
            assertEquals(Backend.REDIS, flags.decide(job("vip")).primary(), "a target applies at once");
            assertEquals(100, contextsFor(flags, contexts, Backend.KAFKA), "a flag with targets is read per job");

            td.update(td.flag("crossfade-route")
                    .clearTargets()
                    .ifMatch(RoutingFlags.JOB_KIND, "queue", LDValue.of("critical"))
                    .thenReturn(0));
            assertEquals(
                    Backend.REDIS,
                    flags.decide(Job.builder("HardWorker").queue("critical").build())
                            .primary());
            assertEquals(100, contextsFor(flags, contexts, Backend.KAFKA), "a flag with rules is read per job");

            td.update(td.flag("crossfade-route").clearRules());
            assertEquals(0, contextsFor(flags, contexts, Backend.KAFKA), "remembered again once the rules are gone");

            td.update(td.flag("crossfade-route").on(false));
            assertEquals(0, contextsFor(flags, contexts, Backend.REDIS), "an off flag serves its off variation");
        }
    }

    /**
     * A flag change applies to the very next decision even while other threads decide all along, each of them
     * remembering what it read: an evaluation that read the old flag while the store was being written must not be
     * remembered after the write (with the store's second forget removed, this failed within a few dozen flips).
     */
    @Test
    void aChangeAppliesToTheNextDecisionWhileOtherThreadsDecide() throws Exception {
        TestData td = TestData.dataSource();
        td.update(td.flag("crossfade-kill-switch").booleanFlag().on(false));
        td.update(td.flag("crossfade-shadow").booleanFlag().on(false));
        td.update(td.flag("crossfade-route")
                .variations(LDValue.of("redis"), LDValue.of("kafka"))
                .offVariation(0)
                .variationForAll(1));
        try (RoutingFlags flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.custom("test data", td))
                .meterRegistry(meters)
                .build())) {
            AtomicBoolean running = new AtomicBoolean(true);
            List<Thread> deciders = new ArrayList<>();
            for (int t = 0; t < 3; t++) {
                int n = t;
                Thread d = new Thread(() -> {
                    for (int i = 0; running.get(); i++) {
                        flags.decide(job("background-" + n + "-" + i));
                    }
                });
                d.start();
                deciders.add(d);
            }
            try {
                for (int flip = 0; flip < 300; flip++) {
                    boolean kafka = flip % 2 == 1;
                    td.update(td.flag("crossfade-route").on(kafka));
                    assertEquals(
                            kafka ? Backend.KAFKA : Backend.REDIS,
                            flags.decide(job("flip-" + flip)).primary(),
                            "decision right after flip " + flip);
                }
            } finally {
                running.set(false);
                for (Thread t : deciders) {
                    t.join();
                }
            }
        }
    }

    /**
     * A percentage rollout at 100% serves one variation too (when that variation is the last listed: see
     * FlagMemoryTest); at 50% it does not.
     */
    @Test
    void aRolloutAtOneHundredPercentIsReadOnce() throws IOException {
        Path f = dir.resolve("flags.json");
        AtomicInteger contexts = new AtomicInteger();
        writeRouteRollout(f, 0, 100_000);
        try (RoutingFlags flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(f))
                .meterRegistry(meters)
                .contextCustomizer((job, b) -> contexts.incrementAndGet())
                .build())) {
            assertEquals(0, contextsFor(flags, contexts, Backend.KAFKA));

            writeRouteRollout(f, 50_000, 50_000);
            await().atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(10))
                    .until(() -> flags.kafkaShare(200) < 0.9);
            contexts.set(0);
            for (int i = 0; i < 100; i++) {
                flags.decide(job("half-" + i));
            }
            assertEquals(100, contexts.get(), "a 50% rollout is read per job");

            writeRouteRollout(f, 0, 100_000);
            await().atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(10))
                    .until(() -> flags.kafkaShare(200) == 1);
            assertEquals(0, contextsFor(flags, contexts, Backend.KAFKA), "remembered again at 100%");
        }
    }

    /**
     * Decides 100 jobs, checks each went to {@code expected}, and returns how many job contexts were built for them.
     * A job decided first reads any flag that changed (it is remembered from that evaluation on).
     */
    private static int contextsFor(RoutingFlags flags, AtomicInteger contexts, Backend expected) {
        assertEquals(expected, flags.decide(job("first")).primary());
        contexts.set(0);
        for (int i = 0; i < 100; i++) {
            assertEquals(expected, flags.decide(job("job-" + i)).primary());
        }
        return contexts.get();
    }

    private static void writeRouteRollout(Path f, int redisWeight, int kafkaWeight) throws IOException {
        Path tmp = f.resolveSibling("flags.tmp");
        Files.writeString(tmp, """
                {"flags": {"crossfade-route": {"key": "crossfade-route", "version": 1, "on": true, "salt": "s",
                  "variations": ["redis", "kafka"], "offVariation": 0, "targets": [], "rules": [], "prerequisites": [],
                  "fallthrough": {"rollout": {"contextKind": "job", "bucketBy": "key", "variations": [
                    {"variation": 0, "weight": %d}, {"variation": 1, "weight": %d}]}}},
                  "crossfade-kill-switch": {"key": "crossfade-kill-switch", "version": 1, "on": false,
                    "variations": [false, true], "offVariation": 0, "fallthrough": {"variation": 0}},
                  "crossfade-shadow": {"key": "crossfade-shadow", "version": 1, "on": false,
                    "variations": [false, true], "offVariation": 0, "fallthrough": {"variation": 0}}}}
                """.formatted(redisWeight, kafkaWeight));
        Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    void shadowRolloutPicksItsOwnShareOnTheOtherBackend() {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(0, false, 30));
        try (RoutingFlags flags = start(file.path())) {
            int shadowed = 0;
            for (int i = 0; i < 10_000; i++) {
                RouteDecision d = flags.decide(job("s" + i));
                assertEquals(Backend.REDIS, d.primary());
                if (d.shadowed()) {
                    assertEquals(Backend.KAFKA, d.shadowTo());
                    shadowed++;
                }
            }
            assertTrue(Math.abs(shadowed / 10_000.0 - 0.30) < 0.03, "shadowed " + shadowed);
        }
    }

    @Test
    void garbageFlagsFileRoutesToRedisAndSaysSo() throws IOException {
        Path garbage = dir.resolve("flags.json");
        Files.writeString(garbage, "{ this is not : json ]");
        try (RoutingFlags flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(garbage))
                .startWait(Duration.ofMillis(500))
                .meterRegistry(meters)
                .build())) {
            RouteDecision d = flags.decide(job("x"));
            assertEquals(RouteDecision.safeDefault(), d);
            assertFalse(flags.healthy());
            assertEquals(0.0, meters.get("crossfade.flags.healthy").gauge().value());

            // Repaired in place: routing follows without a restart.
            FlagsFile.at(garbage).write(new FlagsFile.Settings(100, false, 0));
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> flags.decide(job("x")).primary() == Backend.KAFKA);
            assertTrue(flags.healthy());
        }
    }

    @Test
    void unreachableLaunchDarklyRoutesToRedisWithoutBlockingEnqueues() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        FlagsConfig config = FlagsConfig.custom()
                .source(FlagSource.launchDarkly(
                        "sdk-00000000-0000-0000-0000-000000000000", URI.create("http://127.0.0.1:" + closedPort)))
                .startWait(Duration.ofMillis(300))
                .meterRegistry(meters)
                .build();
        try (RoutingFlags flags = RoutingFlags.start(config)) {
            assertFalse(flags.healthy());
            for (int i = 0; i < 100; i++) {
                assertEquals(RouteDecision.safeDefault(), flags.decide(job("k" + i)));
            }
            assertTrue(meters.get("crossfade.flags.errors").counter().count() >= 100);
        }
    }

    @Test
    void invalidRouteValueFallsBackToRedis() throws IOException {
        Path f = dir.resolve("flags.json");
        Files.writeString(f, """
                {"flags": {"crossfade-route": {"key": "crossfade-route", "version": 1, "on": true, "salt": "s",
                  "variations": ["redis", "kafak"], "offVariation": 0, "fallthrough": {"variation": 1},
                  "targets": [], "rules": [], "prerequisites": []}}}
                """);
        try (RoutingFlags flags = start(f)) {
            assertEquals(RouteDecision.safeDefault(), flags.decide(job("x")));
            assertFalse(flags.healthy());
        }
    }

    @Test
    void rulesCanPinAQueueUsingTheJobContextAttributes() throws IOException {
        Path f = dir.resolve("flags.json");
        Files.writeString(f, """
                {"flags": {"crossfade-route": {"key": "crossfade-route", "version": 1, "on": true, "salt": "s",
                  "variations": ["redis", "kafka"], "offVariation": 0, "fallthrough": {"variation": 0},
                  "targets": [], "prerequisites": [],
                  "rules": [{"id": "r1", "variation": 1, "clauses": [
                    {"contextKind": "job", "attribute": "queue", "op": "in", "values": ["critical"], "negate": false}]},
                    {"id": "r2", "variation": 1, "clauses": [
                    {"contextKind": "job", "attribute": "class", "op": "in", "values": ["Billing::Charge"], "negate": false}]}]}}}
                """);
        try (RoutingFlags flags = start(f)) {
            assertEquals(
                    Backend.KAFKA,
                    flags.decide(Job.builder("HardWorker").queue("critical").build())
                            .primary());
            assertEquals(
                    Backend.KAFKA,
                    flags.decide(Job.builder("Billing::Charge").build()).primary());
            assertEquals(
                    Backend.REDIS,
                    flags.decide(Job.builder("HardWorker").queue("default").build())
                            .primary());
        }
    }

    /**
     * Contexts come from a cached one per queue and class; each must still be exactly the job's own, and what the
     * customizer adds for one job must not leak into the next.
     */
    @Test
    void eachJobGetsItsOwnContextAndCustomizedAttributesDoNotLeak() {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(0, false, 0));
        try (RoutingFlags flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file.path()))
                .meterRegistry(meters)
                .contextCustomizer((job, b) -> {
                    if (job.routingKey() != null) {
                        b.set("account", job.routingKey());
                    }
                })
                .build())) {
            Job keyed = Job.builder("HardWorker")
                    .queue("critical")
                    .routingKey("acct-1")
                    .build();
            Job plain = Job.builder("HardWorker").queue("critical").build();
            Job other = Job.builder("Billing::Charge").build();
            for (int round = 0; round < 2; round++) {
                assertEquals(
                        LDContext.builder(RoutingFlags.JOB_KIND, "acct-1")
                                .set("queue", "critical")
                                .set("class", "HardWorker")
                                .set("account", "acct-1")
                                .build(),
                        flags.contextFor(keyed));
                // Without a routing key: anonymous, keyed by jid so that a rollout still splits such jobs.
                assertEquals(
                        LDContext.builder(RoutingFlags.JOB_KIND, plain.jid())
                                .anonymous(true)
                                .set("queue", "critical")
                                .set("class", "HardWorker")
                                .build(),
                        flags.contextFor(plain));
                assertEquals(
                        LDContext.builder(RoutingFlags.JOB_KIND, other.jid())
                                .anonymous(true)
                                .set("queue", "default")
                                .set("class", "Billing::Charge")
                                .build(),
                        flags.contextFor(other));
            }
        }
    }

    @Test
    void migrationFlagStagesMapToJobRouting() throws IOException {
        Path f = dir.resolve("flags.json");
        String[] stages = {"off", "dualwrite", "shadow", "live", "rampdown", "complete"};
        Backend[][] expected = {
            {Backend.REDIS, null},
            {Backend.REDIS, Backend.KAFKA},
            {Backend.REDIS, Backend.KAFKA},
            {Backend.KAFKA, Backend.REDIS},
            {Backend.KAFKA, Backend.REDIS},
            {Backend.KAFKA, null}
        };
        for (int i = 0; i < stages.length; i++) {
            Files.writeString(f, """
                    {"flags": {"jobs-migration": {"key": "jobs-migration", "version": 1, "on": true, "salt": "s",
                      "variations": ["off", "dualwrite", "shadow", "live", "rampdown", "complete"], "offVariation": 0,
                      "fallthrough": {"variation": %d}, "targets": [], "rules": [], "prerequisites": []}}}
                    """.formatted(i));
            try (RoutingFlags flags = RoutingFlags.start(FlagsConfig.custom()
                    .source(FlagSource.file(f))
                    .migrationFlag("jobs-migration")
                    .meterRegistry(meters)
                    .build())) {
                RouteDecision d = flags.decide(job("m"));
                assertEquals(expected[i][0], d.primary(), stages[i]);
                assertEquals(expected[i][1], d.shadowTo(), stages[i]);
                assertEquals(RouteDecision.Reason.MIGRATION_STAGE, d.reason());
            }
        }
    }

    @Test
    void flagsFileEditsRoundTrip() {
        FlagsFile file = FlagsFile.at(dir.resolve("sub/flags.json"));
        file.createIfMissing();
        assertEquals(new FlagsFile.Settings(0, false, 0), file.read());
        file.setKafkaPercent(12.5);
        file.setShadowPercent(5);
        file.setKillSwitch(true);
        assertEquals(new FlagsFile.Settings(12.5, true, 5), file.read());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> file.setKafkaPercent(101));
    }
}

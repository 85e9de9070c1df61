package dev.crossfade.flags;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.devservices.LocalLaunchDarkly;
import dev.crossfade.devservices.junit.CrossfadeServices;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Routing with the real LaunchDarkly SDK, streaming flags from and posting events to {@link LocalLaunchDarkly}, as in
 * production against LaunchDarkly or a Relay Proxy.
 */
@ExtendWith(CrossfadeServices.class)
class LaunchDarklyRoutingTest {
    private static final String ROUTE = FlagsConfig.DEFAULT_ROUTE_FLAG;
    private static final String KILL = FlagsConfig.DEFAULT_KILL_SWITCH_FLAG;
    private static final String SHADOW = FlagsConfig.DEFAULT_SHADOW_FLAG;

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    private RoutingFlags start(LocalLaunchDarkly ld, Duration startWait) {
        return start(ld, ld.sdkKey(), startWait);
    }

    private RoutingFlags start(LocalLaunchDarkly ld, String sdkKey, Duration startWait) {
        // Each endpoint set on its own, as flags.stream-uri, flags.base-uri and flags.events-uri would.
        LaunchDarklyEndpoints at = LaunchDarklyEndpoints.defaults()
                .withStreaming(ld.uri())
                .withPolling(ld.uri())
                .withEvents(ld.uri());
        return RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.launchDarkly(sdkKey, at))
                .startWait(startWait)
                .meterRegistry(meters)
                .build());
    }

    private static void flags(LocalLaunchDarkly ld, double kafkaPercent, boolean kill) {
        ld.setFlag(KILL, bool(kill));
        ld.setFlag(SHADOW, bool(false));
        ld.setFlag(ROUTE, route(kafkaPercent));
    }

    /** A boolean flag that is off (serving false) unless {@code on}, when it serves true to everyone. */
    private static String bool(boolean on) {
        return """
                {"on": %s, "salt": "s", "variations": [false, true], "offVariation": 0,
                 "fallthrough": {"variation": 1}, "targets": [], "rules": [], "prerequisites": []}""".formatted(on);
    }

    /**
     * The route flag: off at 0% (as FlagsFile and a kill switch at rest are), else LaunchDarkly's percentage rollout over
     * redis/kafka bucketing job contexts by key (at 100% it serves kafka to every job).
     */
    private static String route(double kafkaPercent) {
        if (kafkaPercent == 0) {
            return """
                    {"on": false, "salt": "route-salt", "variations": ["redis", "kafka"], "offVariation": 0,
                     "fallthrough": {"variation": 0}, "targets": [], "rules": [], "prerequisites": []}""";
        }
        int kafka = (int) Math.round(kafkaPercent * 1000);
        return """
                {"on": true, "salt": "route-salt", "variations": ["redis", "kafka"], "offVariation": 0,
                 "targets": [], "rules": [], "prerequisites": [],
                 "fallthrough": {"rollout": {"contextKind": "job", "bucketBy": "key", "variations": [
                   {"variation": 0, "weight": %d}, {"variation": 1, "weight": %d}]}}}""".formatted(100_000 - kafka, kafka);
    }

    private static Job job(String key) {
        return Job.builder("HardWorker").routingKey(key).build();
    }

    @Test
    void aKillSwitchFlippedThroughTheStreamAppliesToTheNextDecisions(LocalLaunchDarkly ld) {
        flags(ld, 100, false);
        try (RoutingFlags flags = start(ld, Duration.ofSeconds(10))) {
            assertTrue(flags.healthy());
            assertEquals(Backend.KAFKA, flags.decide(job("a")).primary());
            List<Long> micros = new ArrayList<>();
            for (int flip = 0; flip < 50; flip++) {
                boolean kill = flip % 2 == 0;
                RouteDecision.Reason expected =
                        kill ? RouteDecision.Reason.KILL_SWITCH : RouteDecision.Reason.ROUTE_FLAG;
                long begin = System.nanoTime();
                ld.setFlag(KILL, bool(kill));
                long deadline = begin + Duration.ofSeconds(2).toNanos();
                while (flags.decide(job("flip-" + flip)).reason() != expected) {
                    assertTrue(System.nanoTime() < deadline, "flip " + flip + " not seen within 2 s");
                    Thread.onSpinWait();
                }
                micros.add((System.nanoTime() - begin) / 1_000);
            }
            Collections.sort(micros);
            long p50 = micros.get(24);
            long p99 = micros.get((int) Math.ceil(0.99 * micros.size()) - 1);
            System.out.printf(
                    "kill switch through the stream, 50 flips: p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
                    p50 / 1000.0, p99 / 1000.0, micros.get(micros.size() - 1) / 1000.0);
            assertEquals(1, ld.streamsOpened(), "one stream for all the flips");
        }
    }

    @Test
    void aDroppedStreamKeepsTheLastFlagsAndResumesWithWhatChangedMeanwhile(LocalLaunchDarkly ld) {
        flags(ld, 100, false);
        try (RoutingFlags flags = start(ld, Duration.ofSeconds(10))) {
            assertEquals(Backend.KAFKA, flags.decide(job("a")).primary());

            ld.pause();
            ld.setFlag(ROUTE, route(0));
            long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
            for (int i = 0; System.nanoTime() < until; i++) {
                assertEquals(Backend.KAFKA, flags.decide(job("cut-" + i)).primary(), "the last flags, while cut off");
            }
            assertTrue(flags.healthy());
            assertEquals(1.0, meters.get("crossfade.flags.healthy").gauge().value());

            ld.resume();
            // The SDK retries with backoff from 1 s; the change reaches it in the put of the new stream.
            await().atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(5))
                    .until(() -> flags.decide(job("back")).primary() == Backend.REDIS);
            assertTrue(ld.streamsOpened() >= 2, "reconnected");
            for (int i = 0; i < 1000; i++) {
                assertEquals(Backend.REDIS, flags.decide(job("after-" + i)).primary());
            }
            assertTrue(flags.healthy());
        }
    }

    @Test
    void anSdkThatNeverConnectedRoutesToRedis(LocalLaunchDarkly ld) {
        flags(ld, 100, false);
        ld.pause();
        try (RoutingFlags flags = start(ld, Duration.ofMillis(300))) {
            neverConnected(flags);
        }
    }

    @Test
    void aWrongSdkKeyRoutesToRedis(LocalLaunchDarkly ld) {
        flags(ld, 100, false);
        try (RoutingFlags flags = start(ld, "sdk-not-this-environment", Duration.ofSeconds(5))) {
            neverConnected(flags);
            assertTrue(ld.unauthorizedRequests() > 0);
            assertEquals(0, ld.streamsOpened());
        }
    }

    /**
     * A migration flag read with {@code migrationVariation}, which maps a value that is no stage to its default: routing
     * still reads that as broken flags (safe default, unhealthy), and recovers when the flag is fixed.
     */
    @Test
    void aMigrationFlagServingNoStageRoutesOnTheSafeDefaultUntilFixed(LocalLaunchDarkly ld) {
        flags(ld, 0, false);
        ld.setFlag("migration", """
                {"on": false, "variations": ["bogus", "live"], "offVariation": 0, "fallthrough": {"variation": 0}}""");
        LaunchDarklyEndpoints at = LaunchDarklyEndpoints.relayProxy(ld.uri());
        try (RoutingFlags flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.launchDarkly(ld.sdkKey(), at))
                .migrationFlag("migration")
                .startWait(Duration.ofSeconds(10))
                .meterRegistry(meters)
                .build())) {
            RouteDecision d = flags.decide(job("a"));
            assertEquals(RouteDecision.Reason.SAFE_DEFAULT, d.reason());
            assertFalse(flags.healthy());
            assertEquals("bogus", flags.state(1).migrationStage());

            ld.setFlag("migration", """
                    {"on": false, "variations": ["bogus", "live"], "offVariation": 1, "fallthrough": {"variation": 1}}""");
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> flags.decide(job("b")).primary() == Backend.KAFKA);
            d = flags.decide(job("c"));
            assertEquals(RouteDecision.Reason.MIGRATION_STAGE, d.reason());
            assertEquals(Backend.REDIS, d.shadowTo());
            assertTrue(d.migration() != null, "a write op to report");
            assertTrue(flags.healthy());
        }
    }

    private void neverConnected(RoutingFlags flags) {
        assertFalse(flags.healthy());
        for (int i = 0; i < 100; i++) {
            assertEquals(RouteDecision.safeDefault(), flags.decide(job("k" + i)));
            assertEquals(
                    RouteDecision.safeDefault(),
                    flags.decide(Job.builder("HardWorker").build()));
        }
        assertEquals(0.0, meters.get("crossfade.flags.healthy").gauge().value());
        assertEquals(Backend.REDIS, flags.decide(job("last")).primary());
    }

    /**
     * Jobs without a routing key, at 0%, 25% and 100% Kafka: LaunchDarkly gets a handful of index events, not one per
     * jid, and its summary counts every decision, those served from FlagMemory included (at 0% and 100% every flag is
     * remembered), and nothing else (share samples, the flip log).
     */
    @Test
    void eventsIndexAFewContextsAndCountEveryDecision(LocalLaunchDarkly ld) {
        int decisions = 200_000;
        List<JsonNode> all = new ArrayList<>();
        for (double percent : new double[] {0, 25, 100}) {
            ld.clearEvents();
            flags(ld, percent, false);
            int kafka = 0;
            Job[] jobs = new Job[decisions];
            for (int i = 0; i < decisions; i++) {
                jobs[i] = Job.builder("NoopJob").args(i).build();
            }
            long nanos;
            try (RoutingFlags flags = start(ld, Duration.ofSeconds(10))) {
                assertTrue(flags.healthy());
                long begin = System.nanoTime();
                for (Job j : jobs) {
                    kafka += flags.decide(j).primary() == Backend.KAFKA ? 1 : 0;
                }
                nanos = System.nanoTime() - begin;
                flags.flushEvents();
                ld.awaitEvents(Duration.ofSeconds(30), e -> counted(e, ROUTE) >= decisions);
            }
            List<JsonNode> run = ld.events();
            all.addAll(run);
            double share = 100.0 * kafka / decisions;
            System.out.printf(
                    "%.0f%% Kafka: %.2f%% of jobs to Kafka, %.0f ns a decision (events on, cold JIT); %d "
                            + "events posted, %d index; route counted %d, kill switch %d, shadow %d%n",
                    percent,
                    share,
                    (double) nanos / decisions,
                    run.size(),
                    kinds(run, "index"),
                    counted(run, ROUTE),
                    counted(run, KILL),
                    counted(run, SHADOW));
            assertEquals(percent, share, 1.0);
            assertEquals(decisions, counted(run, ROUTE), "route flag evaluations counted at " + percent + "%");
            assertEquals(decisions, counted(run, KILL), "kill switch evaluations counted at " + percent + "%");
            assertEquals(decisions, counted(run, SHADOW), "shadow flag evaluations counted at " + percent + "%");
        }
        assertTrue(kinds(all, "index") < 100, kinds(all, "index") + " index events");
        assertEquals(0, kinds(all, "feature"), "no full events: the flags do not ask for them");
    }

    /** Counts whose post failed (LaunchDarkly unreachable) go with the next post, once. */
    @Test
    void countsThatCouldNotBePostedAreSentWithTheNextPost(LocalLaunchDarkly ld) throws InterruptedException {
        flags(ld, 100, false);
        try (RoutingFlags flags = start(ld, Duration.ofSeconds(10))) {
            for (int i = 0; i < 1000; i++) {
                flags.decide(Job.builder("NoopJob").build());
            }
            ld.pause();
            flags.flushEvents();
            Thread.sleep(2500); // the post, and its retry a second later, are refused
            ld.resume();
            for (int i = 0; i < 500; i++) {
                flags.decide(Job.builder("NoopJob").build());
            }
            flags.flushEvents();
            ld.awaitEvents(Duration.ofSeconds(10), e -> counted(e, ROUTE) >= 1500);
        }
        assertEquals(1500, counted(ld.events(), ROUTE));
    }

    /** Jobs with routing keys are indexed by key, each once while the SDK's context-key cache holds it. */
    @Test
    void contextsWithARoutingKeyAreIndexedOncePerKey(LocalLaunchDarkly ld) {
        flags(ld, 25, false);
        try (RoutingFlags flags = start(ld, Duration.ofSeconds(10))) {
            for (int round = 0; round < 20; round++) {
                for (int i = 0; i < 50; i++) {
                    flags.decide(job("account-" + i));
                }
            }
            flags.flushEvents();
            // Two payloads: the SDK's (index events) and the counts; either may come first.
            ld.awaitEvents(Duration.ofSeconds(30), e -> kinds(e, "index") >= 50 && counted(e, ROUTE) >= 1000);
        }
        List<JsonNode> events = ld.events();
        List<String> keys = events.stream()
                .filter(e -> e.path("kind").asText().equals("index"))
                .map(e -> e.path("context").path("key").asText())
                .sorted()
                .toList();
        assertEquals(50, keys.size(), keys.toString());
        assertEquals(50, keys.stream().distinct().count());
        assertTrue(keys.stream().allMatch(k -> k.startsWith("account-")), keys.toString());
        assertEquals(1000, counted(events, ROUTE), "counted once: not in the SDK's summary too");
    }

    @Test
    void theSdkKeyIsNeverDescribed() {
        String key = "sdk-secret-1234";
        for (FlagSource s : new FlagSource[] {
            FlagSource.launchDarkly(key),
            FlagSource.launchDarkly(key, java.net.URI.create("http://relay:8030")),
            FlagSource.launchDarkly(
                    key, LaunchDarklyEndpoints.defaults().withEvents(java.net.URI.create("http://events.example")))
        }) {
            assertFalse(s.describe().contains(key), s.describe());
            assertFalse(s.toString().contains(key), s.toString());
        }
        assertEquals(
                "LaunchDarkly via Relay Proxy http://relay:8030",
                FlagSource.launchDarkly(key, java.net.URI.create("http://relay:8030"))
                        .describe());
    }

    /** How many evaluations of {@code flag} the summary events in {@code events} count. */
    private static long counted(List<JsonNode> events, String flag) {
        long n = 0;
        for (JsonNode e : events) {
            if (e.path("kind").asText().equals("summary")) {
                for (JsonNode c : e.path("features").path(flag).path("counters")) {
                    n += c.path("count").asLong();
                }
            }
        }
        return n;
    }

    private static long kinds(List<JsonNode> events, String kind) {
        return events.stream().filter(e -> e.path("kind").asText().equals(kind)).count();
    }
}

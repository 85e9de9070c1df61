package dev.crossfade.router.shadow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.TextNode;
import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.api.execution.ShadowStore;
import dev.crossfade.router.RoutingJobQueue;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ShadowComparatorTest {
    private final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
    private final Clock clock = new Clock() {
        @Override
        public ZoneId getZone() {
            return ZoneId.of("UTC");
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now.get();
        }
    };
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final ShadowComparator comparator = new ShadowComparator(Duration.ofSeconds(30), meters, clock);

    private static Job primary(String jid) {
        return Job.builder("Pricing")
                .jid(jid)
                .enqueuedAt(Instant.parse("2026-01-01T00:00:00Z"))
                .extra(RoutingJobQueue.SHADOWED_TO, TextNode.valueOf("kafka"))
                .build();
    }

    private static Job shadow(String jid) {
        return Job.builder("Pricing")
                .jid(jid)
                .enqueuedAt(Instant.parse("2026-01-01T00:00:00Z"))
                .shadow(true)
                .build();
    }

    private void run(Job job, Backend backend, Object result) {
        comparator.finished(
                job,
                backend,
                new Outcome.Succeeded(job, result, true, Duration.ofMillis(3)),
                Instant.parse("2026-01-01T00:00:00.004Z"),
                Duration.ofMillis(3));
    }

    @Test
    void aMismatchIsCountedOnlyOnceItsExampleIsStored() {
        // Another process reads the shared store at any moment: a count it sees must come with its example.
        java.util.List<String> countedWithoutExample = new java.util.ArrayList<>();
        LocalShadowStore local = new LocalShadowStore();
        ShadowStore store = new ShadowStore() {
            @Override
            public Paired pair(String jid, String role, String other, String json, Instant since) {
                return local.pair(jid, role, other, json, since);
            }

            @Override
            public java.util.Map<String, String> takeOverdue(Instant cutoff) {
                return local.takeOverdue(cutoff);
            }

            @Override
            public void count(String counter, long delta) {
                if (counter.equals("mismatched") && local.examples().isEmpty()) {
                    countedWithoutExample.add(counter);
                }
                local.count(counter, delta);
            }

            @Override
            public java.util.Map<String, Long> counters() {
                return local.counters();
            }

            @Override
            public long pending() {
                return local.pending();
            }

            @Override
            public void example(String json, int max) {
                local.example(json, max);
            }

            @Override
            public java.util.List<String> examples() {
                return local.examples();
            }
        };
        ShadowComparator shared = new ShadowComparator(Duration.ofSeconds(30), meters, store);
        Job p = primary("c");
        Job s = shadow("c");
        shared.finished(p, Backend.REDIS, new Outcome.Succeeded(p, 1, true, Duration.ZERO), now.get(), Duration.ZERO);
        shared.finished(s, Backend.KAFKA, new Outcome.Succeeded(s, 2, true, Duration.ZERO), now.get(), Duration.ZERO);

        assertEquals(1, shared.report().mismatched());
        assertEquals(java.util.List.of(), countedWithoutExample);
    }

    @Test
    void equalResultsMatchAndDifferentOnesAreReportedWithExamples() {
        run(primary("a"), Backend.REDIS, 42);
        run(shadow("a"), Backend.KAFKA, 42);
        run(primary("b"), Backend.REDIS, java.util.Map.of("total", 10));
        run(shadow("b"), Backend.KAFKA, java.util.Map.of("total", 11));

        ShadowReport r = comparator.report();
        assertEquals(1, r.matched());
        assertEquals(1, r.mismatched());
        assertEquals("b", r.mismatchExamples().get(0).jid());
        assertEquals(1.0, meters.get("crossfade.shadow.mismatched").counter().count());
        assertEquals(4.0, r.backends().get("redis/primary").latencyP50Ms(), 1e-9, "enqueue-to-start, ms");
        assertEquals(4.0, r.backends().get("kafka/shadow").latencyP50Ms(), 1e-9);
        assertTrue(r.toJson().contains("\"mismatched\" : 1"), r.toJson());
    }

    @Test
    void aFailureOnOneSideIsAMismatch() {
        Job p = primary("c");
        comparator.finished(
                p,
                Backend.REDIS,
                new Outcome.Retry(p, now.get(), new IllegalStateException("x")),
                now.get(),
                Duration.ZERO);
        run(shadow("c"), Backend.KAFKA, null);
        assertEquals(1, comparator.report().mismatched());
        assertEquals(1.0, comparator.report().backends().get("redis/primary").errorRate());
    }

    @Test
    void missingSidesAreDeclaredAfterTheGracePeriodAndDuplicatesCounted() {
        run(primary("d"), Backend.REDIS, 1);
        run(shadow("e"), Backend.KAFKA, 1);
        assertEquals(2, comparator.report().pending());
        now.set(now.get().plusSeconds(31));
        ShadowReport r = comparator.report();
        assertEquals(1, r.missingShadow());
        assertEquals(1, r.missingPrimary());
        run(primary("d"), Backend.REDIS, 1);
        assertEquals(1, comparator.report().duplicates());
    }

    @Test
    void deliveryOnlyShadowsAreCountedApartAndUnshadowedJobsIgnored() {
        Job s = shadow("f");
        run(primary("f"), Backend.KAFKA, 5);
        comparator.finished(
                s, Backend.REDIS, new Outcome.Succeeded(s, null, false, Duration.ZERO), now.get(), Duration.ZERO);
        run(Job.of("Plain"), Backend.REDIS, 1);
        ShadowReport r = comparator.report();
        assertEquals(1, r.deliveredOnly());
        assertEquals(0, r.pending());
        assertEquals(0, r.matched());
    }
}

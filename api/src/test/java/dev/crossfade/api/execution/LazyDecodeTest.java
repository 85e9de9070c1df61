package dev.crossfade.api.execution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.codec.InvalidPayloadException;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.worker.WorkerRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Jobs built from what travelled beside their payload (Kafka headers): the success path never decodes, any other read
 * decodes once, and a payload that proves invalid ends dead with the decode error, however the worker reacts.
 */
class LazyDecodeTest {
    private static final String JID = "0123456789abcdef01234567";
    private static final byte[] CORRUPT = "{\"class\":\"W\",\"args\":[1,".getBytes(StandardCharsets.UTF_8);

    private final List<Outcome> finished = new CopyOnWriteArrayList<>();
    private final List<Job> finishedJobs = new CopyOnWriteArrayList<>();
    private final AtomicReference<Job> seen = new AtomicReference<>();

    private ExecutionCore core(dev.crossfade.api.worker.Worker worker) {
        return ExecutionCore.builder(
                        WorkerRegistry.builder().register("W", worker).build())
                .listener(new ExecutionListener() {
                    @Override
                    public void finished(Job job, Backend backend, Outcome outcome, Instant s, Duration d) {
                        finishedJobs.add(job);
                        finished.add(outcome);
                    }
                })
                .build();
    }

    private static byte[] valid(Job job) {
        return JobCodec.defaults().encodeEnqueued(job, Instant.parse("2026-01-01T00:00:00Z"));
    }

    private Outcome run(ExecutionCore core, byte[] payload) {
        return core.execute(payload, Backend.KAFKA, "q", "W", JID, 1, false);
    }

    @Test
    void successReadsNothingButTheHeaders() {
        // The payload is not even JSON: a no-op worker that reads nothing succeeds without decoding it.
        Outcome o = run(core((args, ctx) -> seen.set(ctx.job())), CORRUPT);
        assertInstanceOf(Outcome.Succeeded.class, o);
        Job job = seen.get();
        assertEquals("W", job.className());
        assertEquals(JID, job.jid());
        assertEquals(1, job.attempt());
        assertFalse(job.shadow());
        assertTrue(job.toString().contains("not decoded"), job.toString());
        assertSame(job, finishedJobs.get(0));
    }

    @Test
    void aValidPayloadReadsAsTheEagerDecodeAndOnce() {
        Job original = Job.builder("W")
                .args(1, "two")
                .jid(JID)
                .queue("q")
                .routingKey("acct-9")
                .build();
        byte[] payload = valid(original);
        Job eager = JobCodec.defaults().decode(payload);
        Outcome o = run(
                core((args, ctx) -> {
                    seen.set(ctx.job());
                    assertEquals("two", args.get(1, String.class));
                }),
                payload);
        assertInstanceOf(Outcome.Succeeded.class, o);
        Job lazy = seen.get();
        assertEquals(eager, lazy);
        assertEquals(lazy, eager);
        assertEquals(eager.hashCode(), lazy.hashCode());
        assertEquals(eager.toString(), lazy.toString());
        assertSame(lazy.args(), lazy.args(), "decoded once");
        assertEquals("acct-9", lazy.routingKey());
        assertEquals(eager.enqueuedAt(), lazy.enqueuedAt());
        assertEquals(eager, lazy.toBuilder().build());
        assertEquals(eager.queue(), lazy.queue());
    }

    @Test
    void aFailureOfAValidPayloadRetriesWithItsBody() {
        Job original = Job.builder("W").args(1).jid(JID).queue("q").build();
        Outcome o = core((args, ctx) -> {
                    throw new IllegalStateException("boom");
                })
                .execute(valid(original), Backend.KAFKA, "q", "W", JID, 1, false);
        Outcome.Retry r = assertInstanceOf(Outcome.Retry.class, o);
        assertEquals(0, r.job().retryCount());
        assertEquals(2, r.job().attempt());
        assertEquals("boom", r.job().errorMessage());
        assertEquals(original.args(), r.job().args());
    }

    @Test
    void aWorkerReadingACorruptPayloadEndsDeadWithTheReason() {
        Outcome o = run(core((args, ctx) -> args.get(0, Integer.class)), CORRUPT);
        assertInvalidDead(o);
    }

    @Test
    void aFailingWorkerOnACorruptPayloadEndsDeadNotRetried() {
        Outcome o = run(
                core((args, ctx) -> {
                    throw new IllegalStateException("boom");
                }),
                CORRUPT);
        assertInvalidDead(o);
    }

    @Test
    void aWorkerThatSwallowsTheDecodeErrorStillEndsDead() {
        Outcome o = run(
                core((args, ctx) -> {
                    try {
                        args.size();
                    } catch (InvalidPayloadException ignored) {
                        // the worker carries on
                    }
                }),
                CORRUPT);
        assertInvalidDead(o);
    }

    @Test
    void anUnknownClassWithACorruptPayloadEndsDead() {
        ExecutionCore core = core((args, ctx) -> {});
        Outcome o = core.execute(CORRUPT, Backend.KAFKA, "q", "Other", JID, 1, false);
        Outcome.Dead d = assertInstanceOf(Outcome.Dead.class, o);
        assertEquals(ExecutionCore.INVALID_PAYLOAD_CLASS, d.job().className());
    }

    @Test
    void headersThatDisagreeWithThePayloadEndDeadWhenRead() {
        byte[] payload =
                valid(Job.builder("W").args(1).jid("another-jid-000000000000").build());
        Outcome o = run(core((args, ctx) -> args.size()), payload);
        Outcome.Dead d = assertInstanceOf(Outcome.Dead.class, o);
        assertTrue(d.error().getMessage().contains("disagree"), d.error().getMessage());
        byte[] later = valid(Job.builder("W").args(1).jid(JID).retryCount(0).build());
        Outcome second = run(core((args, ctx) -> args.size()), later);
        assertTrue(
                assertInstanceOf(Outcome.Dead.class, second)
                        .error()
                        .getMessage()
                        .contains("attempt 1 vs 2"),
                second.toString());
    }

    @Test
    void aPayloadMentioningShadowIsDecodedEagerly() {
        // Written by a version that put shadow copies in the jobs topic: the header path must not run it for real.
        byte[] payload = valid(Job.builder("W").args(1).jid(JID).shadow(true).build());
        Outcome o = run(core((args, ctx) -> seen.set(ctx.job())), payload);
        assertFalse(assertInstanceOf(Outcome.Succeeded.class, o).ran(), "a shadow copy of a worker not shadow-safe");
        assertTrue(ExecutionCore.mentionsShadow(payload));
        assertTrue(ExecutionCore.mentionsShadow("{\"sh\\u0061dow\":true}".getBytes(StandardCharsets.UTF_8)));
        assertFalse(ExecutionCore.mentionsShadow(
                valid(Job.builder("W").args("shadowy").build())));
        assertTrue(
                ExecutionCore.mentionsShadow(
                        valid(Job.builder("W").args("shadow").build())),
                "conservative");
    }

    @Test
    void badHeaderFactsTakeTheEagerPath() {
        ExecutionCore core = core((args, ctx) -> seen.set(ctx.job()));
        byte[] payload = valid(Job.builder("W").args(1).jid(JID).build());
        for (Outcome o : List.of(
                core.execute(payload, Backend.KAFKA, "q", "W", JID, 0, false),
                core.execute(payload, Backend.KAFKA, "q", " ", JID, 1, false),
                core.execute(payload, Backend.KAFKA, "q", "W", "", 1, false))) {
            assertInstanceOf(Outcome.Succeeded.class, o);
            assertTrue(seen.get().toString().contains("queue=default"), "decoded whole: " + seen.get());
        }
        finished.clear();
        finishedJobs.clear();
        assertInvalidDead(core.execute(CORRUPT, Backend.KAFKA, "q", "W", JID, 0, false), false);
    }

    @Test
    void aLazyJobWithACorruptPayloadFailsEveryReadTheSameAndEqualsOnlyItsTwin() {
        ExecutionCore core = core((args, ctx) -> seen.set(ctx.job()));
        run(core, CORRUPT);
        Job a = seen.get();
        run(core, CORRUPT.clone());
        Job b = seen.get();
        InvalidPayloadException e = assertThrows(InvalidPayloadException.class, a::queue);
        assertSame(e, assertThrows(InvalidPayloadException.class, a::toBuilder));
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, Job.builder("W").jid(JID).build());
    }

    private void assertInvalidDead(Outcome o) {
        assertInvalidDead(o, true);
    }

    private void assertInvalidDead(Outcome o, boolean headerJid) {
        Outcome.Dead d = assertInstanceOf(Outcome.Dead.class, o);
        assertEquals(ExecutionCore.INVALID_PAYLOAD_CLASS, d.job().className());
        assertInstanceOf(InvalidPayloadException.class, d.error());
        assertTrue(d.job().errorMessage().contains("not valid JSON"), d.job().errorMessage());
        if (headerJid) {
            assertEquals(JID, d.job().jid());
        }
        assertEquals("q", d.job().queue());
        assertEquals(
                new String(CORRUPT, StandardCharsets.UTF_8),
                d.job().args().get(0).textValue());
        assertEquals(List.of(o), finished, "the listener hears the dead outcome, once");
        assertEquals(ExecutionCore.INVALID_PAYLOAD_CLASS, finishedJobs.get(0).className());
    }
}

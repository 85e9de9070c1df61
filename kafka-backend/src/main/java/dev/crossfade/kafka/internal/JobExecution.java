package dev.crossfade.kafka.internal;

import dev.crossfade.api.Backend;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.Outcome;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The processing role (Sidekiq's {@code processor.rb}): runs a fetched record through the execution core and hands
 * its outcome to the {@link OutcomeWriter}, which stores it before the record may be committed or acknowledged. A
 * fault outside the writes (the core, this code) dead-letters the record with that fault as the reason. Thread-safe.
 */
public final class JobExecution {
    private static final Logger log = LoggerFactory.getLogger(JobExecution.class);

    private final ExecutionCore core;
    private final OutcomeWriter outcomes;
    private final Topics topics;

    public JobExecution(ExecutionCore core, OutcomeWriter outcomes, Topics topics) {
        this.core = core;
        this.outcomes = outcomes;
        this.topics = topics;
    }

    /** Writes outcomes for the records that are not run (the poison cap, the share delivery limit). */
    public OutcomeWriter outcomes() {
        return outcomes;
    }

    /**
     * Runs one fetched record and stores its outcome durably. Never throws.
     *
     * @return {@link Verdict#UNFINISHED} when the record is not finished (its chunk was closed, or the thread
     *     interrupted, while a write was pending): it must then stay uncommitted / be released
     */
    public Verdict run(ConsumerRecord<byte[], byte[]> r, Chunk chunk) {
        BooleanSupplier gone = chunk::isClosed;
        try {
            return runAndStore(r, gone);
        } catch (Throwable t) {
            return failSafe(r, t, gone, "the record could not be settled");
        }
    }

    private Verdict runAndStore(ConsumerRecord<byte[], byte[]> r, BooleanSupplier gone) {
        String queue = topics.queueOf(r.topic());
        Outcome outcome;
        try {
            outcome = execute(r, queue);
        } catch (Throwable t) {
            // The core turns every failure into an outcome; should it ever throw, the record still ends somewhere.
            return failSafe(r, t, gone, "the execution core failed");
        }
        if (outcome instanceof Outcome.Succeeded || outcome instanceof Outcome.Discarded) {
            return Verdict.ACCEPT;
        }
        if (gone.getAsBoolean()) {
            // The partition is gone: another consumer runs this record again, so do not store a second copy.
            return Verdict.UNFINISHED;
        }
        if (outcome instanceof Outcome.Retry retry) {
            return outcomes.retry(r, queue, retry, gone);
        }
        Outcome.Dead dead = (Outcome.Dead) outcome;
        return outcomes.dead(r, queue, dead.job(), dead.error(), gone);
    }

    /**
     * A record Crossfade wrote carries its job's class, jid and attempt in a header ({@link Hdr#jobFields}), and a
     * shadow copy comes from a shadow topic: the core builds the job from those and decodes the payload only when
     * something reads the rest. Records without them (other producers, older tools) are decoded whole on fetch.
     */
    private Outcome execute(ConsumerRecord<byte[], byte[]> r, String queue) {
        Hdr.JobFields f = Hdr.jobFields(r.headers());
        if (f == null) {
            return core.execute(r.value(), Backend.KAFKA, queue);
        }
        return core.execute(
                r.value(), Backend.KAFKA, queue, f.className(), f.jid(), f.attempt(), Topics.isShadow(r.topic()));
    }

    /** For a fault outside the outcome writes: dead-letter the record with the fault as its reason. */
    private Verdict failSafe(ConsumerRecord<byte[], byte[]> r, Throwable t, BooleanSupplier gone, String what) {
        if (gone.getAsBoolean()) {
            return Verdict.UNFINISHED;
        }
        log.error("{}-{}@{}: {}; dead-lettering it", r.topic(), r.partition(), r.offset(), what, t);
        return outcomes.deadLetterRaw(topics.queueOf(r.topic()), r, t, gone);
    }
}

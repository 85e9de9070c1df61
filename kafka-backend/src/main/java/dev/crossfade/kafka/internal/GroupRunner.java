package dev.crossfade.kafka.internal;

import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.kafka.KafkaBackendConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumer-group mode: one poll thread owns a {@code KafkaConsumer}; a pool of {@code concurrency} threads runs the
 * jobs. Obtained from {@code KafkaBackend.workers}. Its parts: {@link GroupMember} (one consumer's poll loop and
 * rebalances), {@link PartitionState} (a partition's chunks, their order and recovery), {@link OffsetCommits}
 * (commits and what they announce), {@link JobExecution} (running a job and writing its outcome).
 *
 * <p><b>Groups.</b> Each queue has a consumer (a {@code Member}, with its own poll thread) in the queue's group, and
 * one in a group of its own for the queue's shadow topic; all share the pool.
 *
 * <p><b>Poison cap.</b> Fetched records start only once a commit announcing them (its metadata, a {@link CrashMark})
 * was acknowledged (commits announce two polls' worth of records ahead, so this costs no wait in the steady state),
 * so the next owner of a partition knows which jobs were in flight when its owner died; it runs those one at a time,
 * each after a synchronous commit naming it, and dead-letters one that was in flight in {@code maxRecoveries} deaths,
 * the last time alone.
 *
 * <p><b>At least once.</b> Offsets are committed only past records that finished: ran, were scheduled for retry, or
 * were dead-lettered (both only after the broker acked the write). Every record finishes, whatever it holds and
 * whatever fails on the way ({@link OutcomeWriter}), so no record holds its partition's commit point; and the poll loop
 * outlives any error, backing off and going on. Each partition's records are split into chunks run in order, and the
 * committable offset is the smallest first-unfinished offset of its chunks, so commits are exact whatever the
 * {@link KafkaBackendConfig.Ordering ordering}: per key (the default: one chain of chunks per record key in flight, so
 * {@code concurrency} jobs run at once however few the partitions), per partition (one chain per partition), or none
 * (round-robin chunks). A chunk that must wait for another is handed to the thread running that one
 * ({@link Chunk#follow}), so no thread blocks on an ordering.
 *
 * <p><b>Rebalances</b> are incremental (KIP-848 {@code group.protocol=consumer} by default, or cooperative-sticky on
 * the classic protocol): only moved partitions stop. A revoked partition starts no further job, its running jobs get
 * {@code revokeTimeout} to finish, jobs left unstarted below finished ones run ({@link GapFill}), and what finished
 * is committed before the partition is released; anything else stays uncommitted and runs on the new owner. No job is
 * skipped. A stop does the same within its timeout.
 *
 * <p><b>Backpressure</b>: a partition with more than {@code maxBufferedPerPartition} fetched but unfinished jobs, or
 * more than {@code maxBufferedBytesPerPartition} of their payloads, is paused, not left unpolled, so the member stays
 * in the group however slow the jobs are.
 */
public final class GroupRunner extends KafkaRunner {
    private static final Logger log = LoggerFactory.getLogger(GroupRunner.class);

    public GroupRunner(RunnerParts parts, ExecutionCore core, List<String> queues, int concurrency) {
        super(parts, core, queues, concurrency, "");
    }

    @Override
    Map<String, String> groupDefaults() {
        return Map.of();
    }

    @Override
    List<String> groupIds() {
        List<String> groups = new ArrayList<>();
        for (String q : queues) {
            groups.add(config.workerGroup(q));
            groups.add(shadowGroup(q));
        }
        return groups;
    }

    /** Each queue's shadow copies wait in a topic of their own that only Crossfade consumes, in a group of its own. */
    private String shadowGroup(String queue) {
        return config.workerGroup(queue) + ":shadow";
    }

    /** A consumer per queue (its own group, so each queue's workers come and go alone), and one for its shadows. */
    @Override
    void startLoops() {
        for (String q : queues) {
            new GroupMember(this, config.workerGroup(q), List.of(parts.topics().jobs(q)), "-" + q).start();
            new GroupMember(this, shadowGroup(q), List.of(parts.topics().shadow(q)), "-" + q + "-shadow").start();
        }
    }

    /** Dead-letters a job that took down too many worker processes, instead of running it. */
    void poison(Chunk c, int deaths) {
        PartitionState st = (PartitionState) c.owner();
        try {
            if (!c.begin()) {
                return;
            }
            Verdict verdict = Verdict.UNFINISHED;
            try {
                verdict = execution.outcomes().deadLetterPoison(c.records().get(0), deaths, config.maxRecoveries(), c);
            } finally {
                c.end(verdict);
            }
        } catch (Throwable t) {
            log.error("{}: cannot dead-letter the poison job of {}; it stays uncommitted", name, st.tp, t);
        } finally {
            st.settled(c);
            c.release();
        }
    }

    /**
     * Starts chunks on the pool: a task per thread that could take one (not one per chunk: a poll brings thousands),
     * each taking the next chunk not yet taken until none is left, so a slow job holds up no other chunk. Empties
     * {@code ready} first, so no chunk is started twice.
     */
    void startAll(List<Chunk> ready) {
        int n = ready.size();
        if (n == 0) {
            return;
        }
        Chunk[] batch = ready.toArray(new Chunk[0]);
        ready.clear();
        AtomicInteger next = new AtomicInteger();
        Runnable task = () -> {
            for (int i; (i = next.getAndIncrement()) < batch.length; ) {
                process(batch[i]);
            }
        };
        for (int t = Math.min(concurrency, n); t > 0; t--) {
            pool.execute(task);
        }
    }

    /** Runs a chunk on a worker thread, then each chunk handed to it to run after. Never throws. */
    void process(Chunk first) {
        for (Chunk c = first; c != null; c = c.passOn()) {
            runChunk(c);
        }
    }

    /**
     * Runs an abandoned chunk's records in order, up to offset {@code bound}, while {@code go} holds ({@link GapFill}).
     * Returns whether it reached {@code bound} or the chunk's end: false when a record stayed unfinished or it had to
     * stop, so later chunks of its ordering must not start. Never throws.
     */
    boolean runAbandoned(Chunk c, long bound, BooleanSupplier go) {
        try {
            for (int i = c.completed(); i < c.size(); i++) {
                ConsumerRecord<byte[], byte[]> r = c.records().get(i);
                if (r.offset() > bound) {
                    return true;
                }
                if (!go.getAsBoolean() || !c.beginAbandoned()) {
                    return false;
                }
                Verdict verdict = Verdict.UNFINISHED;
                try {
                    verdict = execution.run(r, c);
                } finally {
                    c.end(verdict);
                }
                if (!verdict.finished()) {
                    return false;
                }
            }
            return true;
        } catch (Throwable t) {
            log.error("{}: jobs left behind finished ones stopped by an unexpected error", name, t);
            return false;
        }
    }

    /** Never throws: the chunks that follow it must still run. */
    private void runChunk(Chunk c) {
        PartitionState st = (PartitionState) c.owner();
        long start = System.nanoTime();
        int ran = 0;
        try {
            for (int i = c.completed(); i < c.size(); i++) {
                if (!c.begin()) {
                    break;
                }
                Verdict verdict = Verdict.UNFINISHED;
                try {
                    // Never throws, and finishes every record it can (ran, retried or dead): UNFINISHED only when the
                    // partition was taken away or the runtime stops, and the record must stay uncommitted.
                    verdict = execution.run(c.records().get(i), c);
                } finally {
                    c.end(verdict);
                }
                if (!verdict.finished()) {
                    break;
                }
                ran++;
            }
        } catch (Throwable t) {
            log.error(
                    "{}: chunk of {} stopped by an unexpected error; its unfinished jobs stay uncommitted",
                    name,
                    st.tp,
                    t);
        } finally {
            st.settled(c);
            try {
                parts.lag().batch(st.tp.topic(), c, ran, start);
            } catch (RuntimeException e) {
                log.debug("{}: batch meters: {}", name, e.toString());
            }
            c.release();
        }
    }
}

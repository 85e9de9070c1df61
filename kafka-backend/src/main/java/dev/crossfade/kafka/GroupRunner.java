package dev.crossfade.kafka;

import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.kafka.internal.Chunk;
import dev.crossfade.kafka.internal.CrashMark;
import dev.crossfade.kafka.internal.Lane;
import io.github.resilience4j.core.IntervalFunction;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Consumer-group mode: one poll thread owns a {@code KafkaConsumer}; a pool of {@code concurrency} threads runs the
 * jobs. Obtain one from {@link KafkaBackend#workers}.
 *
 * <p><b>Groups.</b> Each queue has a consumer (a {@code Member}, with its own poll thread) in the queue's group, and
 * one in a group of its own for the queue's shadow topic; all share the pool.
 *
 * <p><b>Poison cap.</b> Fetched records start only once a commit announcing them (its metadata, a {@link CrashMark})
 * was acknowledged, so the next owner of a partition knows which jobs were in flight when its owner died; it runs
 * those one at a time, each after a synchronous commit naming it, and dead-letters one that was in flight in
 * {@code maxRecoveries} deaths, the last time alone.
 *
 * <p><b>At least once.</b> Offsets are committed only past records that finished: ran, were scheduled for retry, or
 * were dead-lettered (both only after the broker acked the write). Every record finishes, whatever it holds and
 * whatever fails on the way ({@link RetryAndDlq}), so no record holds its partition's commit point; and the poll loop
 * outlives any error, backing off and going on. Each partition's records are split into chunks
 * run in order, and the committable offset is the smallest first-unfinished offset of its chunks, so commits are exact
 * whatever the {@link KafkaBackendConfig.Ordering ordering}: per key (the default: one lane per record key in
 * flight, so {@code concurrency} jobs run at once however few the partitions), per partition (one lane per partition),
 * or none (round-robin chunks).
 *
 * <p><b>Rebalances</b> are incremental (KIP-848 {@code group.protocol=consumer} by default, or cooperative-sticky on
 * the classic protocol): only moved partitions stop. A revoked partition starts no further job, its running jobs get
 * {@code revokeTimeout} to finish, and what finished is committed before the partition is released; anything else
 * stays uncommitted and runs on the new owner. No job is skipped.
 *
 * <p><b>Backpressure</b>: a partition with more than {@code maxBufferedPerPartition} fetched but unfinished jobs, or
 * more than {@code maxBufferedBytesPerPartition} of their payloads, is paused, not left unpolled, so the member stays
 * in the group however slow the jobs are.
 */
public final class GroupRunner extends KafkaRunner {
    private static final Logger log = LoggerFactory.getLogger(GroupRunner.class);
    // After a failed poll-loop turn: 100 ms doubling to 10 s.
    private static final IntervalFunction LOOP_BACKOFF =
            IntervalFunction.ofExponentialBackoff(Duration.ofMillis(100), 2.0, Duration.ofSeconds(10));

    GroupRunner(KafkaBackend backend, ExecutionCore core, List<String> queues, int concurrency) {
        super(backend, core, queues, concurrency, "");
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
            new Member(config.workerGroup(q), List.of(backend.topics().jobs(q)), "-" + q).start();
            new Member(shadowGroup(q), List.of(backend.topics().shadow(q)), "-" + q + "-shadow").start();
        }
    }

    /** Dead-letters a job that took down too many worker processes, instead of running it. */
    private void poison(Chunk c, int deaths) {
        PartitionState st = (PartitionState) c.owner();
        try {
            if (!c.begin()) {
                return;
            }
            byte verdict = 0;
            try {
                verdict = backend.retryAndDlq().deadLetterPoison(c.records().get(0), deaths, config.maxRecoveries(), c);
            } finally {
                c.end(verdict != 0, verdict);
            }
        } catch (Throwable t) {
            log.error("{}: cannot dead-letter the poison job of {}; it stays uncommitted", name, st.tp, t);
        } finally {
            st.settled(c);
            c.release();
        }
    }

    /** A record's ordering key; a record without a key is ordered with nothing (its offset stands in). */
    private static ByteBuffer laneKey(ConsumerRecord<byte[], byte[]> r) {
        return r.key() != null
                ? ByteBuffer.wrap(r.key())
                : ByteBuffer.allocate(Long.BYTES + 1)
                        .put((byte) 0xff)
                        .putLong(r.offset())
                        .flip();
    }

    private static List<List<ConsumerRecord<byte[], byte[]>>> split(int n) {
        List<List<ConsumerRecord<byte[], byte[]>>> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(new ArrayList<>());
        }
        return out;
    }

    /** Runs a chunk on a worker thread. Never throws: a lane must survive any job. */
    private void process(Chunk c) {
        PartitionState st = (PartitionState) c.owner();
        long start = System.nanoTime();
        int ran = 0;
        try {
            for (int i = c.completed(); i < c.size(); i++) {
                if (!c.begin()) {
                    break;
                }
                byte verdict = 0;
                try {
                    // Never throws, and finishes every record it can (ran, retried or dead): 0 only when the
                    // partition was taken away or the runtime stops, and the record must stay uncommitted.
                    verdict = backend.retryAndDlq().run(core, c.records().get(i), c);
                } finally {
                    c.end(verdict != 0, verdict);
                }
                if (verdict == 0) {
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
                backend.lagMonitor().batch(st.tp.topic(), c, ran, start);
            } catch (RuntimeException e) {
                log.debug("{}: batch meters: {}", name, e.toString());
            }
            c.release();
        }
    }

    /** Sleeps up to {@code millis}, less once the runtime stops. */
    private void pause(long millis) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        try {
            while (running && System.nanoTime() - until < 0) {
                Thread.sleep(Math.min(50, millis));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * One consumer and its poll loop over some topics in one group: the jobs topics, or (in a group of their own, so
     * that they never take a member's share of job partitions) the shadow topics. Each member's partitions, commits
     * and rebalances are its own; the worker pool is the runtime's.
     */
    private final class Member {
        private final String groupId;
        private final List<String> topics;
        private final String label;
        private final Map<TopicPartition, PartitionState> states = new HashMap<>();
        private KafkaConsumer<byte[], byte[]> consumer;

        Member(String groupId, List<String> topics, String label) {
            this.groupId = groupId;
            this.topics = topics;
            this.label = label;
        }

        void start() {
            consumer = new KafkaConsumer<>(backend.clients().consumer(groupId, name + label));
            startLoop(this::pollLoop, label + "-poll");
        }

        private void pollLoop() {
            try {
                consumer.subscribe(topics, new Rebalance());
                int failures = 0;
                while (running) {
                    try {
                        // Short polls while a partition is paused, so it resumes soon after its workers drain it.
                        // Short polls also while fetched records wait for the commit that announces them.
                        ConsumerRecords<byte[], byte[]> records =
                                consumer.poll(anyPaused() || anyHeld() ? Duration.ofMillis(5) : Duration.ofMillis(50));
                        if (!records.isEmpty()) {
                            dispatch(records);
                        }
                        backpressure();
                        commit(false);
                        release();
                        failures = 0;
                    } catch (WakeupException e) {
                        // stop(), or a stale wakeup: the loop condition decides.
                    } catch (Throwable t) {
                        // A worker must outlive a broker outage, a refused request or a bug of ours: back off and go
                        // on. Only `running` stops this loop, so a stray interrupt is dropped rather than failing
                        // every turn.
                        Thread.interrupted();
                        failures++;
                        long wait = LOOP_BACKOFF.apply(failures);
                        log.error(
                                "{}: poll loop turn failed ({} in a row); going on in {} ms", name, failures, wait, t);
                        pause(wait);
                    }
                }
            } catch (Throwable t) {
                log.error("{}: cannot subscribe; leaving the group, unfinished jobs stay uncommitted", name, t);
            } finally {
                shutdown();
            }
        }

        /**
         * Tracks the fetched records of each partition as chunks (so commits account for them) and holds them until a
         * commit announcing them is acknowledged ({@link #release()}): a later owner must be able to tell which records
         * may have been running when this process died.
         */
        private void dispatch(ConsumerRecords<byte[], byte[]> records) {
            long now = System.nanoTime();
            for (TopicPartition tp : records.partitions()) {
                PartitionState st = states.get(tp);
                if (st == null) {
                    continue;
                }
                List<ConsumerRecord<byte[], byte[]>> list = records.records(tp);
                if (st.highest < 0) {
                    log.debug(
                            "{}: first fetch of {} starts at offset {}",
                            name,
                            tp,
                            list.get(0).offset());
                }
                st.highest = list.get(list.size() - 1).offset();
                if (st.recovery != null) {
                    // Records the crashed owner may have started run alone, each announced first (see release()).
                    int i = 0;
                    while (i < list.size() && list.get(i).offset() <= st.recovery.hi) {
                        st.held.add(new Held(st.track(List.of(list.get(i)), now), null, true));
                        i++;
                    }
                    list = list.subList(i, list.size());
                    if (list.isEmpty()) {
                        continue;
                    }
                }
                switch (config.ordering()) {
                    case PARTITION -> st.held.add(new Held(st.track(list, now), null, false));
                    case KEY -> {
                        // One lane per key: jobs of one key run in offset order, jobs of different keys never wait for
                        // each other (a shared bucket would make a slow job hold up unrelated keys).
                        Map<ByteBuffer, List<ConsumerRecord<byte[], byte[]>>> byKey = new LinkedHashMap<>();
                        for (ConsumerRecord<byte[], byte[]> r : list) {
                            byKey.computeIfAbsent(laneKey(r), k -> new ArrayList<>(1))
                                    .add(r);
                        }
                        for (Map.Entry<ByteBuffer, List<ConsumerRecord<byte[], byte[]>>> e : byKey.entrySet()) {
                            st.held.add(new Held(st.track(e.getValue(), now), e.getKey(), false));
                        }
                    }
                    case NONE -> {
                        int n = Math.min(concurrency, list.size());
                        List<List<ConsumerRecord<byte[], byte[]>>> split = split(n);
                        for (int i = 0; i < list.size(); i++) {
                            split.get(i % n).add(list.get(i));
                        }
                        for (List<ConsumerRecord<byte[], byte[]>> part : split) {
                            st.held.add(new Held(st.track(part, now), null, false));
                        }
                    }
                }
            }
        }

        /**
         * Hands held chunks to the workers: normally those a commit has announced; in a partition recovering from an
         * owner that died, the suspects one at a time, each after a synchronous commit naming it (or straight to the
         * DLQ once it took down {@code maxRecoveries} owners, the last time running alone).
         */
        private void release() {
            for (PartitionState st : states.values()) {
                if (st.recovery != null) {
                    recover(st);
                }
                if (st.recovery != null) {
                    continue;
                }
                if (!st.held.isEmpty() && st.held.peekFirst().chunk.lastOffset() <= st.announced) {
                    st.pruneIdleLanes();
                    while (!st.held.isEmpty() && st.held.peekFirst().chunk.lastOffset() <= st.announced) {
                        submit(st, st.held.pollFirst());
                    }
                }
            }
        }

        /** Hands a chunk to the lane its ordering gives (resolved now: an idle lane may have been forgotten since). */
        private void submit(PartitionState st, Held h) {
            switch (config.ordering()) {
                case KEY ->
                    st.keyLane(h.key != null ? h.key : laneKey(h.chunk.records().get(0)))
                            .submit(h.chunk);
                case PARTITION -> st.lane(0).submit(h.chunk);
                case NONE -> pool.execute(() -> process(h.chunk));
            }
        }

        private void recover(PartitionState st) {
            Recovery rec = st.recovery;
            if (st.commitPoint() > rec.hi) {
                log.info("{}: {} recovered: every job its previous owner may have started has finished", name, st.tp);
                st.recovery = null;
                return;
            }
            if (rec.current != null && !rec.current.isDone()) {
                return;
            }
            if (!rec.alone) {
                // Too many suspects to run one by one at the first crash: run them as usual, the range marked, and only
                // go one by one if this owner dies too.
                if (!rec.wholeRangeReleased) {
                    if (!commitMark(st, st.commitPoint(), new CrashMark(false, rec.hi, rec.deaths + 1, -1, 0))) {
                        return;
                    }
                    rec.wholeRangeReleased = true;
                }
                if (!st.held.isEmpty() && st.held.peekFirst().suspect) {
                    st.pruneIdleLanes();
                    while (!st.held.isEmpty() && st.held.peekFirst().suspect) {
                        submit(st, st.held.pollFirst());
                    }
                }
                return;
            }
            Held next = st.held.peekFirst();
            if (next == null || !next.suspect) {
                return;
            }
            long offset = next.chunk.lastOffset();
            boolean diedAlone = offset == rec.aloneOffset;
            int deaths = diedAlone ? rec.aloneDeaths : rec.deaths;
            if (diedAlone && deaths >= config.maxRecoveries()) {
                st.held.pollFirst();
                rec.current = next.chunk;
                log.error(
                        "{}: job at {}@{} was in flight in {} worker processes that died (the last one running "
                                + "alone); sending it to the DLQ",
                        name,
                        st.tp,
                        offset,
                        deaths);
                int d = deaths;
                pool.execute(() -> poison(next.chunk, d));
                return;
            }
            if (!commitMark(st, offset, new CrashMark(false, rec.hi, rec.deaths, offset, deaths + 1))) {
                return;
            }
            st.held.pollFirst();
            rec.current = next.chunk;
            pool.execute(() -> process(next.chunk));
        }

        /** Commits {@code offset} with {@code mark}, synchronously: the mark must be durable before the job starts. */
        private boolean commitMark(PartitionState st, long offset, CrashMark mark) {
            try {
                consumer.commitSync(
                        Map.of(st.tp, new OffsetAndMetadata(offset, mark.format())), Duration.ofSeconds(15));
                st.committed = offset;
                st.sentMark = mark.format();
                return true;
            } catch (RuntimeException e) {
                log.warn("{}: cannot record the recovery of {} ({}); trying again", name, st.tp, e.toString());
                return false;
            }
        }

        private boolean anyPaused() {
            for (PartitionState st : states.values()) {
                if (st.paused) {
                    return true;
                }
            }
            return false;
        }

        private boolean anyHeld() {
            for (PartitionState st : states.values()) {
                if (!st.held.isEmpty()) {
                    return true;
                }
            }
            return false;
        }

        private void backpressure() {
            int max = config.maxBufferedPerPartition();
            long maxBytes = config.maxBufferedBytesPerPartition();
            List<TopicPartition> pause = null;
            List<TopicPartition> resume = null;
            for (PartitionState st : states.values()) {
                int n = st.outstanding.get();
                long bytes = st.outstandingBytes.get();
                if (!st.paused && (n > max || bytes > maxBytes)) {
                    st.paused = true;
                    (pause == null ? pause = new ArrayList<>() : pause).add(st.tp);
                } else if (st.paused && n <= max / 2 && bytes <= maxBytes / 2) {
                    st.paused = false;
                    (resume == null ? resume = new ArrayList<>() : resume).add(st.tp);
                }
            }
            if (pause != null) {
                consumer.pause(pause);
            }
            if (resume != null) {
                consumer.resume(resume);
            }
        }

        private long lastCommitNanos = System.nanoTime();

        private void commit(boolean sync) {
            long now = System.nanoTime();
            if (!sync && now - lastCommitNanos < config.commitInterval().toNanos() && !anyToAnnounce()) {
                return;
            }
            lastCommitNanos = now;
            commit(states.values(), sync, false);
        }

        /** Whether fetched records wait for a commit announcing them (they start only once it is acknowledged). */
        private boolean anyToAnnounce() {
            for (PartitionState st : states.values()) {
                if (st.recovery == null && st.highest > st.announcing) {
                    return true;
                }
            }
            return false;
        }

        /**
         * Commits each partition's first unfinished offset with its {@link CrashMark}.
         *
         * @param clean the partitions are let go with every started job finished (a revoke or stop that drained them)
         */
        private void commit(Collection<PartitionState> which, boolean sync, boolean clean) {
            Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
            Map<TopicPartition, Long> announced = new HashMap<>();
            for (PartitionState st : which) {
                long point = st.commitPoint();
                String mark = st.mark(clean).format();
                // A synchronous commit (revoke, shutdown) is the last word on a partition: it repeats the offset even
                // when an async commit of the same one may still be in flight or may have failed.
                if (point >= 0 && (point > st.committed || !mark.equals(st.sentMark) || sync)) {
                    offsets.put(st.tp, new OffsetAndMetadata(point, mark));
                    st.committed = point;
                    st.sentMark = mark;
                    if (st.recovery == null) {
                        st.announcing = Math.max(st.announcing, st.highest);
                        announced.put(st.tp, st.highest);
                    }
                }
            }
            if (offsets.isEmpty()) {
                return;
            }
            if (sync) {
                for (int attempt = 1; attempt <= 2; attempt++) {
                    try {
                        consumer.commitSync(offsets, Duration.ofSeconds(15));
                        return;
                    } catch (WakeupException e) {
                        // A stale wakeup: try once more.
                    } catch (RuntimeException e) {
                        log.warn(
                                "{}: commit of {} failed: {} (those jobs will run again)", name, offsets, e.toString());
                        return;
                    }
                }
            } else {
                consumer.commitAsync(offsets, (o, e) -> {
                    // Runs on the poll thread.
                    if (e == null) {
                        announced.forEach((tp, hi) -> {
                            PartitionState st = states.get(tp);
                            if (st != null && hi > st.announced) {
                                st.announced = hi;
                            }
                        });
                        return;
                    }
                    // Forget the offsets we sent (the callback's map is null on failure) so the next turn commits them
                    // again.
                    log.debug("{}: async commit failed (retried next turn): {}", name, e.toString());
                    offsets.forEach((tp, om) -> {
                        PartitionState st = states.get(tp);
                        if (st != null && st.committed == om.offset()) {
                            st.committed = -1;
                            st.sentMark = null;
                            st.announcing = st.announced;
                        }
                    });
                });
            }
        }

        /** Stops starting jobs of the given partitions, waits for their running jobs until the deadline. */
        private boolean drain(Collection<PartitionState> which, long deadlineNanos) {
            for (PartitionState st : which) {
                st.chunks.forEach(Chunk::abandon);
            }
            for (; ; ) {
                boolean busy = false;
                for (PartitionState st : which) {
                    for (Chunk c : st.chunks) {
                        if (c.isRunning()) {
                            busy = true;
                            break;
                        }
                    }
                }
                if (!busy) {
                    return true;
                }
                if (System.nanoTime() - deadlineNanos >= 0) {
                    return false;
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }

        private void release(Collection<PartitionState> which) {
            for (PartitionState st : which) {
                st.chunks.forEach(Chunk::close);
            }
        }

        private void shutdown() {
            try {
                List<PartitionState> all = new ArrayList<>(states.values());
                long deadline = stopDeadlineNanos != 0 ? stopDeadlineNanos : System.nanoTime();
                boolean drained = drain(all, deadline);
                if (!drained) {
                    clean = false;
                }
                commit(all, true, drained);
                release(all);
                states.clear();
            } catch (RuntimeException e) {
                log.warn("{}: final commit failed: {}", name, e.toString());
            } finally {
                try {
                    consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
                } catch (RuntimeException e) {
                    log.debug("{}: consumer close: {}", name, e.toString());
                }
                // The runtime's stop interrupts jobs still running past the deadline, once every member is done: their
                // records were not committed.
            }
        }

        private final class Rebalance implements ConsumerRebalanceListener {
            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                Map<TopicPartition, OffsetAndMetadata> committed = Map.of();
                if (!partitions.isEmpty()) {
                    try {
                        committed = consumer.committed(Set.copyOf(partitions), Duration.ofSeconds(15));
                    } catch (RuntimeException e) {
                        // Without the marks a crash cannot be counted; the jobs still run (as after an upgrade).
                        log.warn(
                                "{}: cannot read the committed offsets of {}: {}; jobs a crashed owner left "
                                        + "unfinished run without counting the crash",
                                name,
                                partitions,
                                e.toString());
                    }
                }
                for (TopicPartition tp : partitions) {
                    PartitionState st = new PartitionState(tp);
                    if (states.putIfAbsent(tp, st) != null) {
                        continue;
                    }
                    OffsetAndMetadata om = committed.get(tp);
                    if (om != null) {
                        CrashMark mark = CrashMark.parse(om.metadata());
                        if (!mark.clean() && mark.hi() >= om.offset()) {
                            st.recovery = new Recovery(mark, om.offset(), concurrency);
                            log.warn(
                                    "{}: the previous owner of {} stopped with jobs {}..{} in flight ({} such "
                                            + "stop(s) in a row); running them {}",
                                    name,
                                    tp,
                                    om.offset(),
                                    mark.hi(),
                                    mark.deaths(),
                                    st.recovery.alone ? "one at a time" : "with the range marked");
                        }
                    }
                }
                log.debug("{}: assigned {}", name, partitions);
            }

            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                List<PartitionState> revoked = take(partitions);
                if (revoked.isEmpty()) {
                    return;
                }
                boolean finished = drain(
                        revoked, System.nanoTime() + config.revokeTimeout().toNanos());
                commit(revoked, true, finished);
                release(revoked);
                log.debug(
                        "{}: revoked {} (running jobs finished: {}), committed {}",
                        name,
                        partitions,
                        finished,
                        revoked.stream().map(st -> st.tp + "=" + st.committed).toList());
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
                // Not ours any more: commits would be fenced. Stop, and let the new owner run what is unfinished.
                release(take(partitions));
                log.warn("{}: lost {}", name, partitions);
            }

            private List<PartitionState> take(Collection<TopicPartition> partitions) {
                List<PartitionState> out = new ArrayList<>();
                for (TopicPartition tp : partitions) {
                    PartitionState st = states.remove(tp);
                    if (st != null) {
                        out.add(st);
                    }
                }
                return out;
            }
        }
    }

    /** A fetched chunk waiting to be handed to the workers; {@code key} names its lane in KEY ordering. */
    private record Held(Chunk chunk, ByteBuffer key, boolean suspect) {}

    /** A partition whose previous owner died with jobs in flight (see {@link CrashMark}). */
    private static final class Recovery {
        final long hi;
        final int deaths;
        final long aloneOffset;
        final int aloneDeaths;
        /** One at a time (each marked first), or the whole range at once with the range marked. */
        final boolean alone;

        boolean wholeRangeReleased;
        Chunk current;

        Recovery(CrashMark mark, long committed, int concurrency) {
            this.hi = mark.hi();
            this.deaths = mark.deaths();
            this.aloneOffset = mark.alone();
            this.aloneDeaths = mark.aloneDeaths();
            // One by one costs a synchronous commit per job: worth it when few jobs are suspect or the range already
            // took down more than one owner.
            this.alone = mark.alone() >= committed || mark.deaths() >= 2 || hi - committed + 1 <= concurrency;
        }
    }

    /** Per assigned partition; touched by the poll thread only, except the outstanding counts ({@link #settled}). */
    private final class PartitionState {
        final TopicPartition tp;
        final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
        final AtomicInteger outstanding = new AtomicInteger();
        final AtomicLong outstandingBytes = new AtomicLong();
        final Map<Integer, Lane> lanes = new HashMap<>();
        final Map<ByteBuffer, Lane> keyLanes = new HashMap<>();
        /** Fetched chunks not yet handed to the workers, in offset order. */
        final ArrayDeque<Held> held = new ArrayDeque<>();

        long highest = -1;
        long committed = -1;
        /** The offset metadata of the last commit sent; null when it failed. */
        String sentMark;
        /** Records up to this were announced by an acknowledged commit and may start. */
        long announced = -1;
        /** Records up to this are announced by a commit sent (maybe not yet acknowledged). */
        long announcing = -1;
        /** Non-null while jobs the previous owner left in flight run. */
        Recovery recovery;

        boolean paused;

        PartitionState(TopicPartition tp) {
            this.tp = tp;
        }

        /** A new chunk of this partition's records, tracked for commits and counted for backpressure. */
        Chunk track(List<ConsumerRecord<byte[], byte[]>> records, long polledAtNanos) {
            Chunk c = new Chunk(records, this, polledAtNanos, false);
            chunks.add(c);
            outstanding.addAndGet(c.size());
            outstandingBytes.addAndGet(c.bytes());
            return c;
        }

        /** A chunk's worker is done with it: its records no longer count for backpressure. */
        void settled(Chunk c) {
            outstanding.addAndGet(-c.size());
            outstandingBytes.addAndGet(-c.bytes());
        }

        Lane lane(int id) {
            return lanes.computeIfAbsent(id, i -> new Lane(pool, GroupRunner.this::process));
        }

        Lane keyLane(ByteBuffer key) {
            return keyLanes.computeIfAbsent(key, k -> new Lane(pool, GroupRunner.this::process));
        }

        /**
         * Forgets lanes with nothing queued or running, so the map holds at most the keys in flight. Only the poll
         * thread submits, so an idle lane removed here can receive nothing more.
         */
        void pruneIdleLanes() {
            if (keyLanes.size() > 4 * concurrency) {
                keyLanes.values().removeIf(Lane::idle);
            }
        }

        /** What the next commit of this partition says about jobs in flight. */
        CrashMark mark(boolean clean) {
            if (recovery == null) {
                return clean ? CrashMark.CLEAN : CrashMark.running(Math.max(highest, announced));
            }
            // Keep the last recovery mark (it may name the job running alone), or the crashes counted so far.
            CrashMark sent = sentMark == null ? null : CrashMark.parse(sentMark);
            return sent != null && !sent.clean() ? sent : new CrashMark(false, recovery.hi, recovery.deaths, -1, 0);
        }

        /** The offset to commit: the first unfinished one, or one past the last fetched; -1 when nothing fetched. */
        long commitPoint() {
            long min = Long.MAX_VALUE;
            for (Iterator<Chunk> it = chunks.iterator(); it.hasNext(); ) {
                Chunk c = it.next();
                long u = c.firstUnfinishedOffset();
                if (u < 0) {
                    it.remove();
                } else if (u < min) {
                    min = u;
                }
            }
            if (min != Long.MAX_VALUE) {
                return min;
            }
            // Nothing fetched yet: committing highest + 1 = 0 here would roll the group back to the start.
            return highest < 0 ? -1 : highest + 1;
        }
    }
}

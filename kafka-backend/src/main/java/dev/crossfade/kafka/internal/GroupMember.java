package dev.crossfade.kafka.internal;

import dev.crossfade.kafka.KafkaBackendConfig;
import io.github.resilience4j.core.IntervalFunction;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * One consumer of a {@link GroupRunner} and its poll loop, over some topics in one group: a queue's jobs topic, or (in
 * a group of its own, so that they never take a member's share of job partitions) its shadow topic. It splits fetched
 * records into chunks per partition and ordering key, hands them to the runner's workers once announced, pauses
 * partitions past their buffer bounds, and handles rebalances and the final commit. Each member's partitions ({@link
 * PartitionState}), commits ({@link OffsetCommits}) and rebalances are its own; the worker pool is the runner's.
 */
final class GroupMember {
    private static final Logger log = LoggerFactory.getLogger(GroupMember.class);
    // After a failed poll-loop turn: 100 ms doubling to 10 s.
    private static final IntervalFunction LOOP_BACKOFF =
            IntervalFunction.ofExponentialBackoff(Duration.ofMillis(100), 2.0, Duration.ofSeconds(10));
    /** A revoke's commit: the partitions' last word before another member takes them. */
    private static final Duration REVOKE_COMMIT_TIMEOUT = Duration.ofSeconds(15);

    private final String groupId;
    private final List<String> topics;
    private final String label;
    private final Map<TopicPartition, PartitionState> states = new HashMap<>();
    /** Chunks a {@link #release()} pass found ready, started together at its end. */
    private final List<Chunk> starting = new ArrayList<>();

    private final GroupRunner runner;
    private final KafkaBackendConfig config;
    private final String name;
    private final int concurrency;
    private KafkaConsumer<byte[], byte[]> consumer;
    private OffsetCommits commits;

    GroupMember(GroupRunner runner, String groupId, List<String> topics, String label) {
        this.runner = runner;
        this.config = runner.config;
        this.name = runner.name;
        this.concurrency = runner.concurrency;
        this.groupId = groupId;
        this.topics = topics;
        this.label = label;
    }

    void start() {
        consumer = new KafkaConsumer<>(runner.parts.clients().consumer(groupId, name + label));
        // Two polls' worth of records announced ahead: a poll's records are covered by the commit sent a poll earlier,
        // so they start without waiting for the acknowledgement of the one just sent.
        commits = new OffsetCommits(consumer, states, config.commitInterval(), 2 * config.maxPollRecords(), name);
        runner.startLoop(this::pollLoop, label + "-poll");
    }

    /** The ordering key of PARTITION: one chain for all of a partition's chunks. */
    private static final Object WHOLE_PARTITION = new Object();

    /** A record key as an ordering key, its hash computed once (it is looked up twice per chunk). */
    private static final class Key {
        private final byte[] bytes;
        private final int hash;

        Key(byte[] bytes) {
            this.bytes = bytes;
            this.hash = Arrays.hashCode(bytes);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && hash == k.hash && Arrays.equals(bytes, k.bytes);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    private static List<List<ConsumerRecord<byte[], byte[]>>> split(int n) {
        List<List<ConsumerRecord<byte[], byte[]>>> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(new ArrayList<>());
        }
        return out;
    }

    private void pollLoop() {
        try {
            consumer.subscribe(topics, new Rebalance());
            int failures = 0;
            while (runner.running) {
                try {
                    // Short polls while a partition is paused, so it resumes soon after its workers drain it.
                    // Short polls also while fetched records wait for the commit that announces them.
                    ConsumerRecords<byte[], byte[]> records =
                            consumer.poll(anyPaused() || anyHeld() ? Duration.ofMillis(5) : Duration.ofMillis(50));
                    if (!records.isEmpty()) {
                        dispatch(records);
                    }
                    backpressure();
                    commits.regular();
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
                    log.error("{}: poll loop turn failed ({} in a row); going on in {} ms", name, failures, wait, t);
                    runner.pause(wait);
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
                    st.held.add(new PartitionState.Held(st.track(List.of(list.get(i)), now), null, true));
                    i++;
                }
                list = list.subList(i, list.size());
                if (list.isEmpty()) {
                    continue;
                }
            }
            switch (config.ordering()) {
                case PARTITION -> st.held.add(new PartitionState.Held(st.track(list, now), WHOLE_PARTITION, false));
                case KEY -> {
                    // One chain per key: jobs of one key run in offset order, jobs of different keys never wait for
                    // each other (a shared bucket would make a slow job hold up unrelated keys). A record without a
                    // key is ordered with nothing.
                    Map<Key, List<ConsumerRecord<byte[], byte[]>>> byKey = new LinkedHashMap<>();
                    for (ConsumerRecord<byte[], byte[]> r : list) {
                        if (r.key() == null) {
                            st.held.add(new PartitionState.Held(st.track(List.of(r), now), null, false));
                        } else {
                            byKey.computeIfAbsent(new Key(r.key()), k -> new ArrayList<>(1))
                                    .add(r);
                        }
                    }
                    for (Map.Entry<Key, List<ConsumerRecord<byte[], byte[]>>> e : byKey.entrySet()) {
                        st.held.add(new PartitionState.Held(st.track(e.getValue(), now), e.getKey(), false));
                    }
                }
                case NONE -> {
                    int n = Math.min(concurrency, list.size());
                    List<List<ConsumerRecord<byte[], byte[]>>> split = split(n);
                    for (int i = 0; i < list.size(); i++) {
                        split.get(i % n).add(list.get(i));
                    }
                    for (List<ConsumerRecord<byte[], byte[]>> part : split) {
                        st.held.add(new PartitionState.Held(st.track(part, now), null, false));
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
        try {
            releaseHeld();
        } finally {
            runner.startAll(starting);
        }
    }

    private void releaseHeld() {
        for (PartitionState st : states.values()) {
            if (st.recovery != null) {
                recover(st);
            }
            if (st.recovery != null) {
                continue;
            }
            if (!st.held.isEmpty() && st.held.peekFirst().chunk().lastOffset() <= st.announced) {
                while (!st.held.isEmpty() && st.held.peekFirst().chunk().lastOffset() <= st.announced) {
                    submit(st, st.held.pollFirst());
                }
            }
        }
    }

    /** Hands a chunk to the workers, after the last chunk of its key still running. */
    private void submit(PartitionState st, PartitionState.Held h) {
        if (!st.queueBehind(h.chunk(), h.key())) {
            starting.add(h.chunk());
        }
    }

    private void recover(PartitionState st) {
        PartitionState.Recovery rec = st.recovery;
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
                if (!commits.commitMark(st, st.commitPoint(), new CrashMark(false, rec.hi, rec.deaths + 1, -1, 0))) {
                    return;
                }
                rec.wholeRangeReleased = true;
            }
            if (!st.held.isEmpty() && st.held.peekFirst().suspect()) {
                while (!st.held.isEmpty() && st.held.peekFirst().suspect()) {
                    submit(st, st.held.pollFirst());
                }
            }
            return;
        }
        PartitionState.Held next = st.held.peekFirst();
        if (next == null || !next.suspect()) {
            return;
        }
        long offset = next.chunk().lastOffset();
        boolean diedAlone = offset == rec.aloneOffset;
        int deaths = diedAlone ? rec.aloneDeaths : rec.deaths;
        if (diedAlone && deaths >= config.maxRecoveries()) {
            st.held.pollFirst();
            rec.current = next.chunk();
            log.error(
                    "{}: job at {}@{} was in flight in {} worker processes that died (the last one running "
                            + "alone); sending it to the DLQ",
                    name,
                    st.tp,
                    offset,
                    deaths);
            int d = deaths;
            runner.pool.execute(() -> runner.poison(next.chunk(), d));
            return;
        }
        if (!commits.commitMark(st, offset, new CrashMark(false, rec.hi, rec.deaths, offset, deaths + 1))) {
            return;
        }
        st.held.pollFirst();
        rec.current = next.chunk();
        runner.pool.execute(() -> runner.process(next.chunk()));
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
        long deadline = runner.stopDeadlineNanos != 0 ? runner.stopDeadlineNanos : System.nanoTime();
        try {
            List<PartitionState> all = new ArrayList<>(states.values());
            boolean drained = drain(all, deadline) && GapFill.run(runner, all, deadline);
            if (!drained) {
                runner.clean = false;
            }
            commits.commit(all, true, drained, KafkaRunner.left(deadline));
            release(all);
            states.clear();
        } catch (RuntimeException e) {
            log.warn("{}: final commit failed: {}", name, e.toString());
        } finally {
            try {
                consumer.close(CloseOptions.timeout(KafkaRunner.left(deadline)));
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
            Map<TopicPartition, Long> ends = endsOfMarked(committed);
            for (TopicPartition tp : partitions) {
                PartitionState st = new PartitionState(tp, concurrency);
                if (states.putIfAbsent(tp, st) != null) {
                    continue;
                }
                OffsetAndMetadata om = committed.get(tp);
                if (om != null) {
                    CrashMark mark = bounded(CrashMark.parse(om.metadata()), ends.get(tp));
                    if (!mark.clean() && mark.hi() >= om.offset()) {
                        st.recovery = new PartitionState.Recovery(mark, om.offset(), concurrency);
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

        /**
         * The end offsets of the partitions whose previous owner left a crash mark: it may name records announced
         * ahead that did not exist yet, which it cannot have started. Empty when they cannot be read (the marks are
         * then taken as they are: more jobs are suspect, none is missed).
         */
        private Map<TopicPartition, Long> endsOfMarked(Map<TopicPartition, OffsetAndMetadata> committed) {
            List<TopicPartition> marked = new ArrayList<>();
            committed.forEach((tp, om) -> {
                if (om != null && !CrashMark.parse(om.metadata()).clean()) {
                    marked.add(tp);
                }
            });
            if (marked.isEmpty()) {
                return Map.of();
            }
            try {
                return consumer.endOffsets(marked, Duration.ofSeconds(15));
            } catch (RuntimeException e) {
                log.warn("{}: cannot read the end offsets of {}: {}", name, marked, e.toString());
                return Map.of();
            }
        }

        private CrashMark bounded(CrashMark mark, Long end) {
            if (mark.clean() || end == null || mark.hi() < end) {
                return mark;
            }
            return new CrashMark(false, end - 1, mark.deaths(), mark.alone(), mark.aloneDeaths());
        }

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            List<PartitionState> revoked = take(partitions);
            if (revoked.isEmpty()) {
                return;
            }
            long deadline = System.nanoTime() + config.revokeTimeout().toNanos();
            boolean finished = drain(revoked, deadline) && GapFill.run(runner, revoked, deadline);
            commits.commit(revoked, true, finished, REVOKE_COMMIT_TIMEOUT);
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

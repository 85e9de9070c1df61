package dev.crossfade.kafka.internal;

import dev.crossfade.api.execution.ExecutionCore;
import io.github.resilience4j.core.IntervalFunction;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Share-group mode (KIP-932): {@code shareConsumers} poll loops (one per ten threads unless set), each with a
 * {@code KafkaShareConsumer} in explicit acknowledgement mode, feed one pool of {@code concurrency} threads. Any
 * number of consumers may work on one partition; records are acquired and acknowledged one by one. A consumer fetches
 * its next batch only once the last one is acknowledged, so several consumers keep the threads busy through each
 * other's fetches; a batch's acknowledgements go to the broker with the next fetch. Obtained from
 * {@code KafkaBackend.workers}.
 *
 * <p>Acknowledgements: {@code ACCEPT} when the job succeeded or its retry was durably scheduled in the delay tiers;
 * {@code REJECT} when it was durably written to our DLQ (retries spent, unknown worker, malformed payload, or the
 * delivery-count limit reached, below). Retries do not use broker redelivery: a failing job would otherwise spend the
 * delivery count and could not wait Sidekiq's backoff.
 *
 * <p><b>Delivery count.</b> The broker counts every acquisition of a record, whether it is then acknowledged,
 * released or left to time out. The group's {@code share.delivery.count.limit} is set to {@code shareDeliveryLimit}
 * (over the broker's {@code group.share.delivery.count.limit}); a record delivered that many times without an outcome
 * (its workers crashed or timed out each time) is dead-lettered instead of run, so the broker never silently archives
 * a job we have not stored. The headroom is limit − 1
 * deliveries without an outcome, and everything that hands a record back unfinished spends it. So this runner never
 * gives a record back that it could finish: it acquires no more than a batch ({@code share.acquire.mode=record_limit}),
 * renews locks without acquiring, and a stop finishes its batch.
 *
 * <p><b>Locks.</b> The broker lends each fetched record for {@code share.record.lock.duration.ms} (30 s by default).
 * While a batch runs, its unfinished records are renewed (KIP-1222 {@code RENEW}) every half lock, so a job longer than
 * the lock, or one waiting behind such jobs, is not handed to another consumer and run twice. The client keeps a
 * renewed record from being acknowledged until a poll has handed it back, so a renewal commits the {@code RENEW}
 * acknowledgements and then polls once; it polls only when a renewal succeeded, since the client then returns just
 * the renewed records without fetching. Should a poll still return other records, they join the batch: they are
 * acquired, and handing them back would spend a delivery for nothing. A renewal holds only while the partition stays
 * with this consumer: when a rebalance moves it, its unfinished jobs run again elsewhere once their locks run out
 * (at-least-once, counted as lost renewals). With a meter registry, counter
 * {@code crossfade.kafka.share.lock.renewals} (tags {@code group}, {@code outcome} = {@code renewed} or {@code lost})
 * counts them.
 *
 * <p><b>Stopping.</b> A stop polls no more and lets the acquired batch finish, renewing its locks, until the
 * {@code shutdownTimeout}; keep a batch's run time within it ({@code maxPollRecords}). Only what is unfinished at that
 * deadline is released, each record having spent a delivery; counter {@code crossfade.kafka.share.released} (tags
 * {@code group}, {@code started} = {@code yes} or {@code no}) counts them, and a warning names how many. The final
 * acknowledgement commit and the close get what is left of the stop's timeout (at least a second each, as in group
 * mode), so a stop keeps to it with the broker gone. One case is
 * beyond this runner: an idle share consumer keeps a fetch outstanding until records arrive, so records enqueued
 * just as an idle runtime stops may be acquired by it and handed back by its close, each spending a delivery.
 *
 * <p>A poll-loop turn that fails (a refused fetch, a client in a bad state, a bug of ours) closes its share consumer,
 * whose unacknowledged records return to the group, and starts a new one after a backoff: the loop never stops
 * before the runtime does. The group's {@code share.auto.offset.reset} is set to {@code earliest} before the first
 * consumer joins (Kafka's default, {@code latest}, would skip jobs enqueued before any worker ran).
 */
public final class ShareRunner extends KafkaRunner {
    private static final Logger log = LoggerFactory.getLogger(ShareRunner.class);
    // After a failed poll-loop turn: 100 ms doubling to 10 s.
    private static final long WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final IntervalFunction LOOP_BACKOFF =
            IntervalFunction.ofExponentialBackoff(Duration.ofMillis(100), 2.0, Duration.ofSeconds(10));
    /** Outcomes remembered per consumer for records whose acknowledgement the client refused. */
    private static final int OWED_MAX = 10_000;

    private final Counter locksRenewed;
    private final Counter locksLost;
    private final Counter releasedStarted;
    private final Counter releasedUnstarted;

    public ShareRunner(RunnerParts parts, ExecutionCore core, List<String> queues, int concurrency) {
        super(parts, core, queues, concurrency, "share-");
        MeterRegistry registry = config.meterRegistry();
        this.locksRenewed = registry == null ? null : renewals(registry, "renewed");
        this.locksLost = registry == null ? null : renewals(registry, "lost");
        this.releasedStarted = registry == null ? null : released(registry, "yes");
        this.releasedUnstarted = registry == null ? null : released(registry, "no");
    }

    private Counter renewals(MeterRegistry registry, String outcome) {
        return Counter.builder("crossfade.kafka.share.lock.renewals")
                .tag("group", config.groupId())
                .tag("outcome", outcome)
                .description("record lock renewals of running share-group jobs; a lost one "
                        + "means the job may also run on another consumer")
                .register(registry);
    }

    private Counter released(MeterRegistry registry, String started) {
        return Counter.builder("crossfade.kafka.share.released")
                .tag("group", config.groupId())
                .tag("started", started)
                .description("acquired jobs handed back unfinished when a stop ran out of "
                        + "time; each spent a delivery attempt")
                .register(registry);
    }

    @Override
    public Map<String, String> groupDefaults() {
        return Map.of(
                "share.auto.offset.reset",
                "earliest",
                "share.delivery.count.limit",
                Integer.toString(config.shareDeliveryLimit()));
    }

    @Override
    public List<String> groupIds() {
        return List.of(config.groupId(), shadowGroup());
    }

    /**
     * Shadow copies wait in topics of their own, consumed in a share group of their own: in the workers' group they
     * would take a member's share of the partitions, leaving it none of the real jobs.
     */
    private String shadowGroup() {
        return config.groupId() + ".shadow";
    }

    @Override
    public void startLoops() {
        List<String> jobs = queues.stream().map(q -> parts.topics().jobs(q)).toList();
        for (int i = 0; i < config.shareConsumers(concurrency); i++) {
            String clientId = name + "-" + i;
            startLoop(() -> pollLoop(clientId, config.groupId(), jobs), "-poll-" + i);
        }
        List<String> shadows =
                queues.stream().map(q -> parts.topics().shadow(q)).toList();
        startLoop(() -> pollLoop(name + "-shadow", shadowGroup(), shadows), "-poll-shadow");
    }

    private KafkaShareConsumer<byte[], byte[]> newConsumer(String clientId, String groupId, List<String> topics) {
        KafkaShareConsumer<byte[], byte[]> consumer =
                new KafkaShareConsumer<>(parts.clients().shareConsumer(clientId, concurrency, groupId));
        try {
            // Acknowledgements committed asynchronously report failures only here.
            consumer.setAcknowledgementCommitCallback((offsets, error) -> {
                if (error != null) {
                    log.warn(
                            "{}: acknowledgements of {} not committed: {} (those jobs are redelivered)",
                            clientId,
                            offsets,
                            error.toString());
                }
            });
            consumer.subscribe(topics);
        } catch (RuntimeException e) {
            close(consumer);
            throw e;
        }
        return consumer;
    }

    private void pollLoop(String clientId, String groupId, List<String> topics) {
        Owed owed = new Owed();
        KafkaShareConsumer<byte[], byte[]> consumer = null;
        int failures = 0;
        try {
            while (running) {
                try {
                    if (consumer == null) {
                        consumer = newConsumer(clientId, groupId, topics);
                    }
                    ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
                    if (!records.isEmpty()) {
                        runBatch(consumer, records, owed);
                    }
                    failures = 0;
                } catch (WakeupException e) {
                    // A stale wakeup: the loop condition decides.
                } catch (Throwable t) {
                    // Only `running` stops this loop, so a stray interrupt is dropped rather than failing every turn.
                    Thread.interrupted();
                    failures++;
                    long wait = LOOP_BACKOFF.apply(failures);
                    log.error(
                            "{}: share poll loop turn failed ({} in a row); its unacknowledged jobs return to the "
                                    + "group, and a new share consumer starts in {} ms",
                            clientId,
                            failures,
                            wait,
                            t);
                    // Its state is unknown (it may hold records it will not poll past): start afresh.
                    close(consumer);
                    consumer = null;
                    pause(wait);
                }
            }
        } finally {
            close(consumer);
        }
    }

    private void close(KafkaShareConsumer<byte[], byte[]> consumer) {
        if (consumer != null) {
            try {
                consumer.close(limit(Duration.ofSeconds(5)));
            } catch (RuntimeException e) {
                log.debug("{}: share consumer close: {}", name, e.toString());
            }
        }
    }

    /**
     * Runs a polled batch to its end, acknowledging finished records every {@code commitInterval} (so a long batch
     * neither holds its locks to the end nor re-runs everything after a crash) and renewing the locks of the rest
     * every half lock. Explicit mode requires every record of the batch to be acknowledged before the next poll;
     * share consumers heartbeat from a background thread, so waiting here does not cost the membership.
     */
    private void runBatch(
            KafkaShareConsumer<byte[], byte[]> consumer, ConsumerRecords<byte[], byte[]> records, Owed owed) {
        Batch batch = new Batch(consumer, owed);
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>(records.count());
        records.forEach(all::add);
        try {
            batch.add(all);
            long lastAck = System.nanoTime();
            long lastRenew = lastAck;
            long renewEvery = renewInterval(consumer);
            boolean stopping = false;
            while (!batch.settled()) {
                // Woken at once when the batch settles; the timeout paces acknowledgements and renewals meanwhile.
                LockSupport.parkNanos(WAIT_NANOS);
                if (Thread.currentThread().isInterrupted()) {
                    break;
                }
                long now = System.nanoTime();
                if (!running && !stopping) {
                    // Stop acquiring (no further poll), but finish what was acquired: handing it back would spend a
                    // delivery attempt of every record.
                    stopping = true;
                    log.debug("{}: stopping; finishing the {} jobs acquired", name, batch.size());
                }
                if (stopping && now - stopDeadlineNanos >= 0) {
                    break;
                }
                if (now - lastRenew >= renewEvery) {
                    lastRenew = now;
                    lastAck = now;
                    renew(batch);
                } else if (now - lastAck >= config.commitInterval().toNanos()) {
                    lastAck = now;
                    if (batch.acknowledgeFinished() > 0) {
                        commit(consumer, false);
                    }
                }
            }
        } finally {
            batch.finish();
            if (!running) {
                commit(consumer, true);
            }
            // Running, the next poll carries the batch's acknowledgements in its fetch: a commit of its own would
            // cost a second request to the broker per batch.
        }
    }

    /**
     * Half the broker's acquisition lock (30 s unless the group's {@code share.record.lock.duration.ms} says
     * otherwise), so a renewal lands well before the lock runs out; until the first poll has told us the lock, 15 s.
     */
    private static long renewInterval(KafkaShareConsumer<byte[], byte[]> consumer) {
        return TimeUnit.MILLISECONDS.toNanos(consumer.acquisitionLockTimeoutMs().orElse(30_000) / 2);
    }

    /**
     * Keeps the batch's locks while its jobs run (KIP-1222): a job still running, or waiting behind others in its
     * chunk, when the lock ran out would be delivered to another consumer and run twice. Finished records are
     * acknowledged; every other record of the batch is acknowledged RENEW, and the acknowledgements are committed.
     * The client completes the renewals within that commit, then holds the renewed records until a poll hands them
     * back; only then can they be acknowledged again. That poll happens only when a renewal succeeded: the client
     * then returns the renewed records at once, with no fetch, so nothing new is acquired. Poll thread only.
     */
    private void renew(Batch batch) {
        KafkaShareConsumer<byte[], byte[]> consumer = batch.consumer;
        batch.acknowledgeFinished();
        Map<String, ConsumerRecord<byte[], byte[]>> pending = batch.renewUnfinished();
        Map<TopicIdPartition, Optional<KafkaException>> result;
        try {
            result = consumer.commitSync(limit(Duration.ofSeconds(10)));
        } catch (RuntimeException e) {
            log.warn(
                    "{}: renewal of {} locks not committed ({}); those jobs may also run on another consumer",
                    name,
                    pending.size(),
                    e.toString());
            countRenewals(pending.size(), 0);
            return;
        }
        if (pending.isEmpty()) {
            return;
        }
        Set<TopicPartition> refused = new HashSet<>();
        result.forEach((tip, error) -> error.ifPresent(e -> {
            refused.add(tip.topicPartition());
            log.debug("{}: renewals on {} refused: {}", name, tip, e.toString());
        }));
        long expected = pending.values().stream()
                .filter(r -> !refused.contains(new TopicPartition(r.topic(), r.partition())))
                .count();
        int renewed = 0;
        if (expected > 0) {
            List<ConsumerRecord<byte[], byte[]>> strays = new ArrayList<>();
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofSeconds(1))) {
                if (pending.containsKey(Owed.key(r))) {
                    renewed++;
                } else {
                    strays.add(r);
                }
            }
            if (!strays.isEmpty()) {
                // Acquired by that poll after all: run them with the batch rather than hand them back.
                log.info("{}: {} more jobs came with the renewed ones; they join the batch", name, strays.size());
                batch.add(strays);
            }
        }
        log.debug("{}: renewed the locks of {} unfinished jobs", name, renewed);
        countRenewals(pending.size(), renewed);
    }

    private void countRenewals(int pending, int renewed) {
        if (locksRenewed != null) {
            locksRenewed.increment(renewed);
            locksLost.increment(pending - renewed);
        }
        if (renewed < pending) {
            log.warn(
                    "{}: {} of {} locks not renewed (their partition went to another consumer, or the lock ran out "
                            + "first); those jobs may also run on another consumer",
                    name,
                    pending - renewed,
                    pending);
        }
    }

    /**
     * Acknowledges one record; false when the client refuses it, which happens only to a record whose lock a renewal
     * did not keep (the broker has given it to another consumer, so the outcome here no longer counts).
     */
    private static boolean acknowledge(
            KafkaShareConsumer<byte[], byte[]> consumer, ConsumerRecord<byte[], byte[]> r, AcknowledgeType type) {
        try {
            consumer.acknowledge(r, type);
            return true;
        } catch (IllegalStateException e) {
            log.warn(
                    "{}-{}@{}: {} not acknowledged ({}); the broker redelivers it",
                    r.topic(),
                    r.partition(),
                    r.offset(),
                    type,
                    e.getMessage());
            return false;
        }
    }

    private static AcknowledgeType type(Verdict verdict) {
        return verdict == Verdict.REJECT ? AcknowledgeType.REJECT : AcknowledgeType.ACCEPT;
    }

    /**
     * How long a blocking call of the client may take: {@code normal} while running; once stopping, what is left of
     * the stop's timeout (at least {@link KafkaRunner#LAST_WORD}), so a stop keeps to its timeout with the broker gone.
     */
    private Duration limit(Duration normal) {
        long deadline = stopDeadlineNanos;
        return running || deadline == 0 ? normal : left(deadline);
    }

    private void commit(KafkaShareConsumer<byte[], byte[]> consumer, boolean sync) {
        try {
            if (sync) {
                consumer.commitSync(limit(Duration.ofSeconds(10)));
            } else {
                consumer.commitAsync();
            }
        } catch (RuntimeException e) {
            log.warn("{}: acknowledgement commit failed: {} (unacknowledged jobs are redelivered)", name, e.toString());
        }
    }

    /** Runs a chunk on a worker thread. Never throws. */
    private void process(Chunk c) {
        long start = System.nanoTime();
        int ran = 0;
        try {
            for (int i = 0; i < c.size(); i++) {
                if (!c.begin()) {
                    break;
                }
                ConsumerRecord<byte[], byte[]> r = c.records().get(i);
                Verdict verdict = Verdict.UNFINISHED;
                try {
                    short delivery = r.deliveryCount().orElse((short) 1);
                    if (delivery >= config.shareDeliveryLimit()) {
                        verdict = execution
                                .outcomes()
                                .deadLetterRaw(
                                        r,
                                        new IllegalStateException("delivered "
                                                + delivery
                                                + " times without an outcome (the worker crashed, was killed or timed out "
                                                + "each time); dead-lettered instead of run again"),
                                        c);
                    } else {
                        verdict = execution.run(r, c);
                    }
                } finally {
                    c.end(verdict);
                }
                if (!verdict.finished()) {
                    break;
                }
                ran++;
            }
        } catch (Throwable t) {
            log.error("{}: a chunk stopped by an unexpected error; its unfinished jobs are released", name, t);
        } finally {
            ((Batch) c.owner()).chunkDone();
            try {
                if (!c.records().isEmpty()) {
                    parts.lag().batch(c.records().get(0).topic(), c, ran, start);
                }
            } catch (RuntimeException e) {
                log.debug("{}: batch meters: {}", name, e.toString());
            }
        }
    }

    /** One polled batch: its chunks, how far each is acknowledged, and how many are still running. */
    private final class Batch {
        final KafkaShareConsumer<byte[], byte[]> consumer;
        final Owed owed;
        final List<Chunk> chunks = new ArrayList<>();
        int[] acked = new int[0];
        final AtomicInteger unsettled = new AtomicInteger();

        /** The poll thread that runs this batch; woken when the last chunk finishes. */
        private final Thread owner = Thread.currentThread();

        Batch(KafkaShareConsumer<byte[], byte[]> consumer, Owed owed) {
            this.consumer = consumer;
            this.owed = owed;
        }

        int size() {
            return chunks.stream().mapToInt(Chunk::size).sum();
        }

        /**
         * Splits records over the worker threads and starts them. A record this consumer already finished (its
         * acknowledgement had been refused and the broker handed it back) is acknowledged at once instead of run.
         */
        void add(List<ConsumerRecord<byte[], byte[]>> records) {
            List<ConsumerRecord<byte[], byte[]>> fresh = new ArrayList<>(records.size());
            for (ConsumerRecord<byte[], byte[]> r : records) {
                Verdict verdict = owed.take(r);
                if (verdict == null) {
                    fresh.add(r);
                } else {
                    log.info(
                            "{}-{}@{} was finished here before; acknowledged without running it again",
                            r.topic(),
                            r.partition(),
                            r.offset());
                    acknowledge(consumer, r, type(verdict));
                }
            }
            if (fresh.isEmpty()) {
                return;
            }
            int n = Math.min(concurrency, fresh.size());
            List<List<ConsumerRecord<byte[], byte[]>>> split = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                split.add(new ArrayList<>(fresh.size() / n + 1));
            }
            for (int i = 0; i < fresh.size(); i++) {
                split.get(i % n).add(fresh.get(i));
            }
            long now = System.nanoTime();
            for (List<ConsumerRecord<byte[], byte[]>> part : split) {
                Chunk c = new Chunk(part, this, now, true);
                chunks.add(c);
                acked = Arrays.copyOf(acked, chunks.size());
                unsettled.incrementAndGet();
                try {
                    pool.execute(() -> process(c));
                } catch (RejectedExecutionException e) {
                    // The pool is gone (the runtime stopped past its deadline): the chunk never starts.
                    unsettled.decrementAndGet();
                }
            }
        }

        boolean settled() {
            return unsettled.get() == 0;
        }

        void chunkDone() {
            if (unsettled.decrementAndGet() == 0) {
                LockSupport.unpark(owner); // the poll thread waits for the batch to settle
            }
        }

        /** Acknowledges the records finished since the last call; returns how many. Poll thread only. */
        int acknowledgeFinished() {
            int n = 0;
            for (int k = 0; k < chunks.size(); k++) {
                Chunk c = chunks.get(k);
                int upto = c.completed();
                for (int i = acked[k]; i < upto; i++) {
                    ConsumerRecord<byte[], byte[]> r = c.records().get(i);
                    Verdict verdict = c.verdict(i);
                    if (!acknowledge(consumer, r, type(verdict))) {
                        owed.put(r, verdict);
                    }
                    n++;
                }
                acked[k] = upto;
            }
            return n;
        }

        /** Acknowledges RENEW every record not finished yet; returns those the client took, by offset key. */
        Map<String, ConsumerRecord<byte[], byte[]>> renewUnfinished() {
            Map<String, ConsumerRecord<byte[], byte[]>> pending = new HashMap<>();
            for (int k = 0; k < chunks.size(); k++) {
                Chunk c = chunks.get(k);
                for (int i = acked[k]; i < c.size(); i++) {
                    ConsumerRecord<byte[], byte[]> r = c.records().get(i);
                    if (acknowledge(consumer, r, AcknowledgeType.RENEW)) {
                        pending.put(Owed.key(r), r);
                    }
                }
            }
            return pending;
        }

        /**
         * Ends the batch: chunks still running (a stop past its deadline, or a failed turn) are closed, finished
         * records acknowledged, and the rest released, so another consumer gets them now rather than when their locks
         * run out.
         */
        void finish() {
            boolean allDone = true;
            for (Chunk c : chunks) {
                if (c.isRunning() || !c.isDone()) {
                    c.close();
                    if (c.isRunning()) {
                        allDone = false;
                    }
                }
            }
            acknowledgeFinished();
            int started = 0;
            int unstarted = 0;
            for (int k = 0; k < chunks.size(); k++) {
                Chunk c = chunks.get(k);
                for (int i = acked[k]; i < c.size(); i++) {
                    acknowledge(consumer, c.records().get(i), AcknowledgeType.RELEASE);
                    if (i < c.begun()) {
                        started++;
                    } else {
                        unstarted++;
                    }
                }
            }
            if (started + unstarted > 0) {
                allDone = false;
                log.warn(
                        "{}: released {} unfinished jobs ({} never started); each has spent a delivery attempt "
                                + "(shareDeliveryLimit {}). At a stop, a batch should finish within shutdownTimeout: lower "
                                + "maxPollRecords for jobs this slow",
                        name,
                        started + unstarted,
                        unstarted,
                        config.shareDeliveryLimit());
                if (releasedStarted != null) {
                    releasedStarted.increment(started);
                    releasedUnstarted.increment(unstarted);
                }
            }
            if (!allDone) {
                clean = false;
            }
        }
    }

    /**
     * Outcomes of records this consumer finished but could not acknowledge (their renewal was lost). Should the
     * broker hand one back to this consumer, it is acknowledged with its outcome instead of run twice. Bounded; poll
     * thread only.
     */
    private static final class Owed {
        private final Map<String, Verdict> verdicts = new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Verdict> eldest) {
                return size() > OWED_MAX;
            }
        };

        static String key(ConsumerRecord<?, ?> r) {
            return r.topic() + "-" + r.partition() + "@" + r.offset();
        }

        void put(ConsumerRecord<?, ?> r, Verdict verdict) {
            verdicts.put(key(r), verdict);
        }

        Verdict take(ConsumerRecord<?, ?> r) {
            return verdicts.isEmpty() ? null : verdicts.remove(key(r));
        }
    }
}

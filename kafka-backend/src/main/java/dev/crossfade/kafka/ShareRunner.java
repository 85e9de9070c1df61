package dev.crossfade.kafka;

import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.kafka.internal.Chunk;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Share-group mode (KIP-932): {@code shareConsumers} poll loops, each with a {@code KafkaShareConsumer} in explicit
 * acknowledgement mode, feed one pool of {@code concurrency} threads. Any number of consumers may work on one
 * partition; records are acquired and acknowledged one by one. Obtain one from {@link KafkaBackend#workers}.
 *
 * <p>Acknowledgements: {@code ACCEPT} when the job succeeded or its retry was durably scheduled in the delay tiers;
 * {@code REJECT} when it was durably written to our DLQ (retries spent, unknown worker, malformed payload, or the
 * delivery-count limit reached: a record delivered {@code shareDeliveryLimit} times without an outcome is
 * dead-lettered instead of run, so the broker never archives a job we have not stored); {@code RELEASE} for jobs not
 * finished at shutdown, so another consumer gets them at once. Retries do not use broker redelivery: a failing job
 * would otherwise spend the delivery count and could not wait Sidekiq's backoff.
 *
 * <p>Locks: the broker lends each fetched record for {@code share.record.lock.duration.ms} (30 s by default). While a
 * batch runs, its unfinished records are renewed (KIP-1222 {@code RENEW}) every half lock, so a job longer than the
 * lock, or one waiting behind such jobs, is not handed to another consumer and run twice. The renewed records come
 * back through this consumer's fetch, so a renewal holds only while the partition stays assigned here: when a
 * rebalance moves it, its unfinished jobs run again elsewhere once their locks run out (at-least-once, counted as
 * lost renewals). With a meter registry, counter {@code crossfade.kafka.share.lock.renewals} (tags {@code group},
 * {@code outcome} = {@code renewed} or {@code lost}) counts them.
 *
 * <p>The group's {@code share.auto.offset.reset} is set to {@code earliest} before the first consumer joins
 * (Kafka's default, {@code latest}, would skip jobs enqueued before any worker ran).
 */
public final class ShareRunner extends KafkaRunner {
    private static final Logger log = LoggerFactory.getLogger(ShareRunner.class);

    private final Counter locksRenewed;
    private final Counter locksLost;

    ShareRunner(KafkaBackend backend, ExecutionCore core, List<String> queues, int concurrency) {
        super(backend, core, queues, concurrency, "share-");
        MeterRegistry registry = config.meterRegistry();
        this.locksRenewed = registry == null ? null : renewals(registry, "renewed");
        this.locksLost = registry == null ? null : renewals(registry, "lost");
    }

    private Counter renewals(MeterRegistry registry, String outcome) {
        return Counter.builder("crossfade.kafka.share.lock.renewals").tag("group", config.groupId())
                .tag("outcome", outcome).description("record lock renewals of running share-group jobs; a lost one "
                        + "means the job may also run on another consumer").register(registry);
    }

    @Override
    Map<String, String> groupDefaults() {
        return Map.of("share.auto.offset.reset", "earliest",
                "share.delivery.count.limit", Integer.toString(config.shareDeliveryLimit()));
    }

    @Override
    void startLoops() {
        for (int i = 0; i < config.shareConsumers(); i++) {
            KafkaShareConsumer<byte[], byte[]> consumer =
                    new KafkaShareConsumer<>(backend.shareConsumerProperties(name + "-" + i, concurrency));
            startLoop(() -> pollLoop(consumer), "-poll-" + i);
        }
    }

    private void pollLoop(KafkaShareConsumer<byte[], byte[]> consumer) {
        try {
            consumer.subscribe(queues.stream().map(q -> backend.topics().jobs(q)).toList());
            while (running) {
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(Duration.ofMillis(100));
                } catch (WakeupException e) {
                    continue;
                }
                if (!records.isEmpty()) {
                    runBatch(consumer, records);
                }
            }
        } catch (Throwable t) {
            log.error("{}: share poll loop failed; unacknowledged jobs return to the group when their locks expire",
                    name, t);
        } finally {
            try {
                consumer.close(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                log.debug("{}: share consumer close: {}", name, e.toString());
            }
        }
    }

    private void runBatch(KafkaShareConsumer<byte[], byte[]> consumer, ConsumerRecords<byte[], byte[]> records) {
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>(records.count());
        records.forEach(all::add);
        int n = Math.min(concurrency, all.size());
        List<List<ConsumerRecord<byte[], byte[]>>> split = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            split.add(new ArrayList<>(all.size() / n + 1));
        }
        for (int i = 0; i < all.size(); i++) {
            split.get(i % n).add(all.get(i));
        }
        long now = System.nanoTime();
        CountDownLatch done = new CountDownLatch(n);
        List<Chunk> chunks = new ArrayList<>(n);
        for (List<ConsumerRecord<byte[], byte[]>> part : split) {
            Chunk c = new Chunk(part, done, now, true);
            chunks.add(c);
            pool.execute(() -> process(c));
        }
        // Explicit mode requires every record of this batch to be acknowledged before the next poll; share
        // consumers heartbeat from a background thread, so waiting here does not cost the membership. While waiting,
        // finished records are acknowledged and committed every commitInterval, so a long batch neither holds its
        // locks to the end nor re-runs everything after a crash.
        int[] acked = new int[chunks.size()];
        boolean stopping = false;
        long lastAck = System.nanoTime();
        long lastRenew = lastAck;
        long renewEvery = renewInterval(consumer);
        try {
            while (!done.await(20, TimeUnit.MILLISECONDS)) {
                if (!running && !stopping) {
                    stopping = true;
                    chunks.forEach(Chunk::abandon);
                }
                if (stopping && System.nanoTime() - stopDeadlineNanos >= 0) {
                    break;
                }
                if (System.nanoTime() - lastRenew >= renewEvery) {
                    lastRenew = System.nanoTime();
                    lastAck = lastRenew;
                    renew(consumer, chunks, acked);
                } else if (System.nanoTime() - lastAck >= config.commitInterval().toNanos()) {
                    lastAck = System.nanoTime();
                    if (acknowledgeFinished(consumer, chunks, acked) > 0) {
                        commit(consumer, false);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        boolean allDone = true;
        for (Chunk c : chunks) {
            if (c.isRunning() || !c.isDone()) {
                c.close();
                if (c.isRunning()) {
                    allDone = false;
                }
            }
        }
        acknowledgeFinished(consumer, chunks, acked);
        for (int k = 0; k < chunks.size(); k++) {
            Chunk c = chunks.get(k);
            // Unfinished at shutdown: release, so another consumer gets them now rather than after the lock expires.
            for (int i = acked[k]; i < c.size(); i++) {
                acknowledge(consumer, c.records().get(i), AcknowledgeType.RELEASE);
            }
        }
        if (!allDone) {
            clean = false;
        }
        commit(consumer, !running);
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
     * acknowledged; every other record of the batch is acknowledged RENEW and committed, and the client then hands the
     * renewed records back through the next poll, which must come before they can be acknowledged again. They are the
     * same offsets, so the chunks keep their records. Poll thread only.
     */
    private void renew(KafkaShareConsumer<byte[], byte[]> consumer, List<Chunk> chunks, int[] acked) {
        acknowledgeFinished(consumer, chunks, acked);
        Set<String> pending = new HashSet<>();
        for (int k = 0; k < chunks.size(); k++) {
            Chunk c = chunks.get(k);
            for (int i = acked[k]; i < c.size(); i++) {
                ConsumerRecord<byte[], byte[]> r = c.records().get(i);
                if (acknowledge(consumer, r, AcknowledgeType.RENEW)) {
                    pending.add(offsetKey(r));
                }
            }
        }
        commit(consumer, true);
        if (pending.isEmpty()) {
            return;
        }
        int renewed = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (renewed < pending.size() && System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                if (pending.contains(offsetKey(r))) {
                    renewed++;
                } else {
                    // Not part of this batch: the poll is only for the renewed records. Back to the group with it.
                    acknowledge(consumer, r, AcknowledgeType.RELEASE);
                }
            }
        }
        log.debug("{}: renewed the locks of {} unfinished jobs", name, renewed);
        if (locksRenewed != null) {
            locksRenewed.increment(renewed);
            locksLost.increment(pending.size() - renewed);
        }
        if (renewed < pending.size()) {
            log.warn("{}: {} of {} locks not renewed (their partition went to another consumer, or the lock ran out "
                    + "first); those jobs may also run on another consumer", name, pending.size() - renewed,
                    pending.size());
        }
    }

    private static String offsetKey(ConsumerRecord<?, ?> r) {
        return r.topic() + "-" + r.partition() + "@" + r.offset();
    }

    /** Acknowledges the records finished since the last call; returns how many. Poll thread only. */
    private static int acknowledgeFinished(KafkaShareConsumer<byte[], byte[]> consumer, List<Chunk> chunks,
                                           int[] acked) {
        int n = 0;
        for (int k = 0; k < chunks.size(); k++) {
            Chunk c = chunks.get(k);
            int upto = c.completed();
            for (int i = acked[k]; i < upto; i++) {
                byte v = c.verdict(i);
                acknowledge(consumer, c.records().get(i),
                        v == RetryAndDlq.REJECT ? AcknowledgeType.REJECT : AcknowledgeType.ACCEPT);
                n++;
            }
            acked[k] = upto;
        }
        return n;
    }

    /**
     * Acknowledges one record; false when the client refuses it, which happens only to a record whose lock a renewal
     * did not keep (the broker has given it to another consumer, so the outcome here no longer counts).
     */
    private static boolean acknowledge(KafkaShareConsumer<byte[], byte[]> consumer, ConsumerRecord<byte[], byte[]> r,
                                       AcknowledgeType type) {
        try {
            consumer.acknowledge(r, type);
            return true;
        } catch (IllegalStateException e) {
            log.warn("{}-{}@{}: {} not acknowledged ({}); the broker redelivers it", r.topic(), r.partition(),
                    r.offset(), type, e.getMessage());
            return false;
        }
    }

    private void commit(KafkaShareConsumer<byte[], byte[]> consumer, boolean sync) {
        try {
            if (sync) {
                consumer.commitSync(Duration.ofSeconds(10));
            } else {
                consumer.commitAsync();
            }
        } catch (RuntimeException e) {
            log.warn("{}: acknowledgement commit failed: {} (unacknowledged jobs are redelivered)", name,
                    e.toString());
        }
    }

    private void process(Chunk c) {
        long start = System.nanoTime();
        int ran = 0;
        try {
            for (int i = 0; i < c.size(); i++) {
                if (!c.begin()) {
                    break;
                }
                ConsumerRecord<byte[], byte[]> r = c.records().get(i);
                byte verdict = 0;
                try {
                    short delivery = r.deliveryCount().orElse((short) 1);
                    if (delivery >= config.shareDeliveryLimit()) {
                        verdict = backend.retryAndDlq().deadLetterRaw(r, new IllegalStateException("delivered "
                                + delivery + " times without an outcome (the worker crashed, was killed or timed out "
                                + "each time); dead-lettered instead of run again"), c) ? RetryAndDlq.REJECT : 0;
                    } else {
                        verdict = backend.retryAndDlq().run(core, r, c);
                    }
                } catch (Throwable t) {
                    log.error("{}: job at {}-{}@{} could not be settled; it is released", name, r.topic(),
                            r.partition(), r.offset(), t);
                } finally {
                    c.end(verdict != 0, verdict);
                }
                if (verdict == 0) {
                    break;
                }
                ran++;
            }
        } finally {
            ((CountDownLatch) c.owner()).countDown();
            if (!c.records().isEmpty()) {
                backend.lagMonitor().batch(c.records().get(0).topic(), c, ran, start);
            }
        }
    }
}

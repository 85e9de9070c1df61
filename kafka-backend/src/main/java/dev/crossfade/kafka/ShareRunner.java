package dev.crossfade.kafka;

import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.kafka.internal.Chunk;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
 * <p>The group's {@code share.auto.offset.reset} is set to {@code earliest} before the first consumer joins
 * (Kafka's default, {@code latest}, would skip jobs enqueued before any worker ran).
 */
public final class ShareRunner extends KafkaRunner {
    private static final Logger log = LoggerFactory.getLogger(ShareRunner.class);

    ShareRunner(KafkaBackend backend, ExecutionCore core, List<String> queues, int concurrency) {
        super(backend, core, queues, concurrency, "share-");
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
                    new KafkaShareConsumer<>(backend.shareConsumerProperties(name + "-" + i));
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
        try {
            while (!done.await(20, TimeUnit.MILLISECONDS)) {
                if (!running && !stopping) {
                    stopping = true;
                    chunks.forEach(Chunk::abandon);
                }
                if (stopping && System.nanoTime() - stopDeadlineNanos >= 0) {
                    break;
                }
                if (System.nanoTime() - lastAck >= config.commitInterval().toNanos()) {
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
                consumer.acknowledge(c.records().get(i), AcknowledgeType.RELEASE);
            }
        }
        if (!allDone) {
            clean = false;
        }
        commit(consumer, !running);
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
                consumer.acknowledge(c.records().get(i),
                        v == RetryAndDlq.REJECT ? AcknowledgeType.REJECT : AcknowledgeType.ACCEPT);
                n++;
            }
            acked[k] = upto;
        }
        return n;
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

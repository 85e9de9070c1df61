package dev.crossfade.kafka.internal;

import dev.crossfade.api.Job;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Moves scheduled jobs and retries from the delay tiers to their jobs topic once due. One per worker runtime, in the
 * consumer group {@code <groupId>.scheduler}, so the tiers' partitions are spread over the worker processes.
 *
 * <p>Every record of a tier waits the same time ({@code hop} = append time + tier, never after {@code due}), so within
 * a partition records become ready in append order: the scheduler only ever looks at a partition's head. A head that
 * is not ready is sought back to and its partition paused until its hop time (seek, pause, resume) while the poll loop
 * serves other partitions. A ready record is forwarded to the jobs topic when due, else re-sent to the tier for its
 * remaining delay; offsets are committed only after those sends are acknowledged, so a crash re-forwards (a duplicate)
 * but never loses a job. A record the broker can never take (refused for good: too large for the jobs topic, not
 * authorized) is dead-lettered to its queue's DLQ instead of holding back its tier.
 */
public final class DelayScheduler {
    private static final Logger log = LoggerFactory.getLogger(DelayScheduler.class);

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Producer<byte[], byte[]> producer;
    private final OutcomeWriter delays;
    private final Topics topics;
    private final List<String> tierTopics;
    private final Duration maxSleep;
    private final Map<TopicPartition, Long> resumeAt = new HashMap<>();
    private final Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
    private final Thread thread;
    private volatile boolean running = true;
    /** When a stop must be over (its final commit and close keep to it); 0 while running. */
    private volatile long stopDeadlineNanos;

    public DelayScheduler(
            KafkaConsumer<byte[], byte[]> consumer,
            Producer<byte[], byte[]> producer,
            OutcomeWriter delays,
            Topics topics,
            Collection<String> queues,
            Duration maxSleep,
            String name) {
        this.consumer = consumer;
        this.producer = producer;
        this.delays = delays;
        this.topics = topics;
        this.maxSleep = maxSleep;
        this.tierTopics =
                queues.stream().flatMap(q -> topics.delayTopics(q).stream()).toList();
        this.thread = new Thread(this::loop, name);
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /** Stops polling; the final commit and the close keep to {@code deadlineNanos} (see {@link KafkaRunner#left}). */
    public void stop(long deadlineNanos) {
        stopDeadlineNanos = deadlineNanos;
        running = false;
        consumer.wakeup();
    }

    /** Waits for the loop to end, at most until {@code untilNanos}. */
    public void join(long untilNanos) {
        try {
            thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(untilNanos - System.nanoTime())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void loop() {
        try {
            consumer.subscribe(tierTopics, new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    commit(true);
                    partitions.forEach(resumeAt::remove);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {}

                @Override
                public void onPartitionsLost(Collection<TopicPartition> partitions) {
                    partitions.forEach(p -> {
                        resumeAt.remove(p);
                        pending.remove(p);
                    });
                }
            });
            while (running) {
                ConsumerRecords<byte[], byte[]> records;
                try {
                    records = consumer.poll(sleep());
                } catch (WakeupException e) {
                    continue;
                }
                if (!records.isEmpty()) {
                    handle(records);
                }
                resumeDue();
            }
            commit(true);
        } catch (WakeupException e) {
            // stopping
        } catch (Throwable t) {
            log.error("delay scheduler stopped by an unexpected error; scheduled jobs stay in their tiers", t);
        } finally {
            try {
                consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(
                        stopDeadlineNanos == 0 ? Duration.ofSeconds(5) : KafkaRunner.left(stopDeadlineNanos)));
            } catch (RuntimeException e) {
                log.debug("closing the scheduler consumer: {}", e.toString());
            }
        }
    }

    /** Polls no longer than until the earliest paused head is due. */
    private Duration sleep() {
        long now = System.currentTimeMillis();
        long wait = maxSleep.toMillis();
        for (long at : resumeAt.values()) {
            wait = Math.min(wait, Math.max(0, at - now));
        }
        return Duration.ofMillis(wait);
    }

    private void handle(ConsumerRecords<byte[], byte[]> records) {
        List<Forward> sends = new ArrayList<>();
        for (TopicPartition tp : records.partitions()) {
            for (ConsumerRecord<byte[], byte[]> r : records.records(tp)) {
                long now = System.currentTimeMillis();
                long hop = Hdr.number(r.headers(), Hdr.HOP, 0);
                if (hop > now) {
                    // Not ready: nothing behind it is either. Come back to this record at its hop time.
                    consumer.seek(tp, r.offset());
                    consumer.pause(List.of(tp));
                    resumeAt.put(tp, hop);
                    break;
                }
                Future<RecordMetadata> f;
                try {
                    f = forward(r, now);
                } catch (RuntimeException e) {
                    f = CompletableFuture.failedFuture(e);
                }
                sends.add(new Forward(tp, r, f));
            }
        }
        // Commit only what the broker acknowledged, or what it can never take once that is dead-lettered; on a failure
        // that may pass, rewind the partition to the failed record so it is tried again (later ones are sent again).
        Map<TopicPartition, Long> next = new HashMap<>();
        Set<TopicPartition> rewound = new HashSet<>();
        for (Forward s : sends) {
            if (rewound.contains(s.tp())) {
                continue;
            }
            Throwable failure = null;
            try {
                s.future().get(30, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                failure = e.getCause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failure = e;
            } catch (Exception e) {
                failure = e;
            }
            ConsumerRecord<byte[], byte[]> r = s.record();
            if (failure != null && DurableSend.isFinal(failure)) {
                // The same record would be refused forever, holding back every job behind it in its tier.
                log.error(
                        "scheduled job at {}-{}@{} can never be forwarded ({}); dead-lettering it",
                        r.topic(),
                        r.partition(),
                        r.offset(),
                        DurableSend.describe(failure));
                Verdict v = delays.deadLetterRaw(
                        queueOf(r, null),
                        r,
                        new IllegalStateException(
                                "scheduled job could not " + "be forwarded: " + DurableSend.describe(failure), failure),
                        () -> !running);
                if (!v.finished()) {
                    failure = new IllegalStateException("stopping");
                } else {
                    failure = null;
                }
            }
            if (failure != null) {
                log.warn(
                        "delay scheduler could not forward {}-{}@{} ({}); it will be retried",
                        r.topic(),
                        r.partition(),
                        r.offset(),
                        failure.toString());
                consumer.seek(s.tp(), r.offset());
                rewound.add(s.tp());
                continue;
            }
            next.put(s.tp(), r.offset() + 1);
        }
        next.forEach((tp, o) -> pending.put(tp, new OffsetAndMetadata(o)));
        commit(false);
    }

    private record Forward(TopicPartition tp, ConsumerRecord<byte[], byte[]> record, Future<RecordMetadata> future) {}

    /** The queue a tier record belongs to: its target header's, else its job's, else {@code default}. */
    private String queueOf(ConsumerRecord<byte[], byte[]> r, Job job) {
        String target = Hdr.text(r.headers(), Hdr.TARGET);
        if (target != null) {
            return topics.queueOf(target);
        }
        return job != null ? job.queue() : "default";
    }

    private Future<RecordMetadata> forward(ConsumerRecord<byte[], byte[]> r, long now) {
        long due = Hdr.number(r.headers(), Hdr.DUE, 0);
        Job job = null;
        try {
            job = delays.codec().decode(r.value());
        } catch (RuntimeException e) {
            // Not ours to judge: the worker dead-letters it with the parse error.
        }
        String queue = queueOf(r, job);
        if (due > now) {
            return delays.schedule(queue, r.key(), r.value(), job != null ? job : placeholder(r), due);
        }
        byte[] value = r.value();
        if (job != null) {
            job = job.toBuilder().at(null).enqueuedAt(Instant.ofEpochMilli(now)).build();
            value = delays.codec().encode(job);
            return producer.send(new ProducerRecord<>(
                    job.shadow() ? topics.shadow(queue) : topics.jobs(queue),
                    null,
                    null,
                    r.key(),
                    value,
                    Hdr.jobHeaders(job)));
        }
        return producer.send(new ProducerRecord<>(topics.jobs(queue), null, null, r.key(), value));
    }

    private static Job placeholder(ConsumerRecord<byte[], byte[]> r) {
        Hdr.JobFields f = Hdr.jobFields(r.headers());
        if (f != null) {
            return Job.builder(f.className()).jid(f.jid()).build();
        }
        // Whatever separate headers another producer wrote, even without a valid attempt: the jid keeps it traceable.
        String cls = Hdr.text(r.headers(), Hdr.CLASS);
        return Job.builder(cls != null ? cls : "unknown")
                .jid(Hdr.text(r.headers(), Hdr.JID))
                .build();
    }

    private void resumeDue() {
        if (resumeAt.isEmpty()) {
            return;
        }
        long now = System.currentTimeMillis();
        List<TopicPartition> ready = new ArrayList<>();
        resumeAt.entrySet().removeIf(e -> {
            if (e.getValue() <= now) {
                ready.add(e.getKey());
                return true;
            }
            return false;
        });
        if (!ready.isEmpty()) {
            ready.retainAll(consumer.assignment());
            consumer.resume(ready);
        }
    }

    private void commit(boolean sync) {
        if (pending.isEmpty()) {
            return;
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>(pending);
        pending.clear();
        try {
            if (sync && stopDeadlineNanos != 0) {
                consumer.commitSync(offsets, KafkaRunner.left(stopDeadlineNanos));
            } else if (sync) {
                consumer.commitSync(offsets);
            } else {
                consumer.commitAsync(offsets, (o, e) -> {
                    if (e != null) {
                        log.debug("scheduler commit failed (records will be forwarded again): {}", e.toString());
                    }
                });
            }
        } catch (RuntimeException e) {
            log.warn("scheduler commit failed (records will be forwarded again): {}", e.toString());
        }
    }
}

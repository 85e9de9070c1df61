package dev.crossfade.kafka.internal;

import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.Transferred;
import dev.crossfade.kafka.KafkaAdmin;
import dev.crossfade.kafka.KafkaBackendConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.GroupIdNotFoundException;
import org.apache.kafka.common.errors.GroupNotEmptyException;
import org.apache.kafka.common.errors.UnknownMemberIdException;

/**
 * Moves one queue's not-yet-consumed jobs out of Kafka into another {@link JobQueue} ({@link KafkaAdmin#transfer}):
 * the records of the jobs topic past the workers' group's committed offsets, and the records of the delay tiers past
 * the scheduler group's committed offsets (scheduled jobs and retries, sent with {@code enqueueAt(due)}).
 *
 * <p>Contract: the queue's Kafka workers must be stopped. Both groups are checked with {@code describeConsumerGroups}
 * first, and every batch's offsets are committed with {@code alterConsumerGroupOffsets}, which the broker refuses for
 * a group with members: a worker that joins mid-transfer stops it with a clear message instead of racing it. Offsets
 * are committed only after the target acknowledged the batch, so a crash between the two sends that batch again on
 * the next run (duplicates by jid, which the router's run-once guard runs once), never loses it. Records that are not
 * jobs go to the queue's DLQ, as a worker would send them. Group mode only: a share group's progress is not an offset.
 */
public final class QueueTransfer {
    private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration STALL = Duration.ofSeconds(30);

    private final KafkaBackendConfig config;
    private final ClientProperties clients;
    private final Topics topics;
    private final Admin admin;
    private final OutcomeWriter outcomes;
    private final String queue;
    private final JobQueue target;

    public QueueTransfer(
            KafkaBackendConfig config,
            ClientProperties clients,
            Topics topics,
            Admin admin,
            OutcomeWriter outcomes,
            String queue,
            JobQueue target) {
        this.config = config;
        this.clients = clients;
        this.topics = topics;
        this.admin = admin;
        this.outcomes = outcomes;
        this.queue = Topics.checkQueue(queue);
        this.target = target;
    }

    public Transferred run() {
        if (config.mode() == KafkaBackendConfig.Mode.SHARE) {
            throw new IllegalStateException("transfer out of Kafka needs group mode: a share group's progress is per "
                    + "record, not an offset, so the not-yet-run jobs of queue '" + queue + "' cannot be told apart");
        }
        // The queue's own groups: other queues' workers may keep running.
        String workers = config.workerGroup(queue);
        String scheduler = config.schedulerGroup(queue);
        requireNoMembers(List.of(workers, scheduler));
        Set<String> existing = get(admin.listTopics().names());
        long[] pending = new long[3];
        if (existing.contains(topics.jobs(queue))) {
            pending = move(List.of(topics.jobs(queue)), workers, false);
        }
        List<String> tiers =
                topics.delayTopics(queue).stream().filter(existing::contains).toList();
        long[] delayed = tiers.isEmpty() ? new long[3] : move(tiers, scheduler, true);
        return new Transferred(pending[0], delayed[0] - delayed[2], delayed[2], pending[1] + delayed[1]);
    }

    private void requireNoMembers(List<String> groups) {
        for (String g : groups) {
            ConsumerGroupDescription d;
            try {
                d = get(admin.describeConsumerGroups(List.of(g))
                        .describedGroups()
                        .get(g));
            } catch (IllegalStateException e) {
                if (e.getCause() instanceof GroupIdNotFoundException) {
                    continue;
                }
                throw e;
            }
            if (!d.members().isEmpty()) {
                String who = d.members().stream()
                        .map(m -> m.clientId() + "@" + m.host())
                        .distinct()
                        .collect(Collectors.joining(", "));
                throw new IllegalStateException(
                        "consumer group " + g + " has " + d.members().size() + " active "
                                + "member(s) (" + who + "): stop the Kafka workers of queue '" + queue + "' before "
                                + "transferring it (the transfer commits the group's offsets, which needs it idle)");
            }
        }
    }

    /** @return jobs sent, records dead-lettered because they are not jobs, retries among the jobs sent */
    private long[] move(List<String> topicNames, String group, boolean delayed) {
        Map<TopicPartition, OffsetAndMetadata> committed =
                get(admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata());
        Map<String, Object> props = clients.reader();
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
        long sent = 0;
        long invalid = 0;
        long retries = 0;
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props)) {
            List<TopicPartition> tps = new ArrayList<>();
            for (String t : topicNames) {
                List<PartitionInfo> infos = c.partitionsFor(t, ADMIN_TIMEOUT);
                if (infos != null) {
                    infos.forEach(p -> tps.add(new TopicPartition(t, p.partition())));
                }
            }
            Map<TopicPartition, Long> begin = c.beginningOffsets(tps, ADMIN_TIMEOUT);
            Map<TopicPartition, Long> end = c.endOffsets(tps, ADMIN_TIMEOUT);
            List<TopicPartition> todo = new ArrayList<>();
            Map<TopicPartition, Long> start = new HashMap<>();
            for (TopicPartition tp : tps) {
                OffsetAndMetadata o = committed.get(tp);
                // No commit: the workers would start from the earliest record (auto.offset.reset=earliest).
                long from = Math.max(begin.get(tp), o == null ? 0 : o.offset());
                if (from < end.get(tp)) {
                    todo.add(tp);
                    start.put(tp, from);
                }
            }
            if (todo.isEmpty()) {
                return new long[3];
            }
            c.assign(todo);
            todo.forEach(tp -> c.seek(tp, start.get(tp)));
            long lastProgress = System.nanoTime();
            while (!reached(c, todo, end)) {
                ConsumerRecords<byte[], byte[]> records = c.poll(Duration.ofMillis(500));
                Map<TopicPartition, OffsetAndMetadata> done = new LinkedHashMap<>();
                List<Job> ready = new ArrayList<>();
                List<Map.Entry<Job, Instant>> later = new ArrayList<>();
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                    if (r.offset() >= end.get(tp)) {
                        continue; // arrived after the start: not ours (and workers are stopped anyway)
                    }
                    Job job = decode(r);
                    if (job == null) {
                        invalid++;
                    } else if (delayed) {
                        later.add(Map.entry(job, Instant.ofEpochMilli(Hdr.number(r.headers(), Hdr.DUE, 0))));
                    } else {
                        ready.add(job);
                    }
                    done.put(tp, new OffsetAndMetadata(r.offset() + 1));
                }
                if (done.isEmpty()) {
                    if (System.nanoTime() - lastProgress > STALL.toNanos()) {
                        throw new IllegalStateException("no progress reading " + todo + " for " + STALL
                                + "; the offsets of what was sent are committed, run the transfer again");
                    }
                    continue;
                }
                lastProgress = System.nanoTime();
                if (!ready.isEmpty()) {
                    target.enqueueAll(ready);
                    sent += ready.size();
                }
                for (Map.Entry<Job, Instant> e : later) {
                    target.enqueueAt(e.getKey(), e.getValue());
                    sent++;
                    if (e.getKey().retryCount() != null) {
                        retries++;
                    }
                }
                commit(group, done);
            }
        }
        return new long[] {sent, invalid, retries};
    }

    /**
     * The job a record carries, for this queue, or null after dead-lettering a record that is not a job (the
     * workers would have done the same).
     */
    private Job decode(ConsumerRecord<byte[], byte[]> r) {
        Job job;
        try {
            job = outcomes.codec().decode(r.value());
        } catch (RuntimeException e) {
            // The payload's head only, as the workers keep it: a huge record would not fit the DLQ whole.
            Job dead = OutcomeWriter.invalidPayload(r.value(), queue, e);
            get(outcomes.deadLetter(queue, r.key(), dead, e, r.topic(), r.partition(), r.offset()));
            return null;
        }
        return job.toBuilder().queue(queue).at(null).build();
    }

    private void commit(String group, Map<TopicPartition, OffsetAndMetadata> offsets) {
        try {
            admin.alterConsumerGroupOffsets(group, offsets).all().get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownMemberIdException || e.getCause() instanceof GroupNotEmptyException) {
                throw new IllegalStateException(
                        "Kafka workers joined group " + group + " during the transfer of "
                                + "queue '" + queue
                                + "': stopped. The last batch reached the target but its offsets are not "
                                + "committed, so the workers run it too (the run-once guard keeps it to one run)",
                        e.getCause());
            }
            throw new IllegalStateException(
                    "cannot commit the transfer's offsets for group " + group + ": " + e.getCause(), e.getCause());
        } catch (Exception e) {
            throw wrap(e);
        }
    }

    private static boolean reached(
            KafkaConsumer<byte[], byte[]> c, List<TopicPartition> tps, Map<TopicPartition, Long> end) {
        for (TopicPartition tp : tps) {
            if (c.position(tp, ADMIN_TIMEOUT) < end.get(tp)) {
                return false;
            }
        }
        return true;
    }

    private static <T> T get(java.util.concurrent.Future<T> f) {
        try {
            return f.get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause().toString(), e.getCause());
        } catch (Exception e) {
            throw wrap(e);
        }
    }

    private static RuntimeException wrap(Exception e) {
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        if (e instanceof RuntimeException re) {
            return re;
        }
        return new IllegalStateException("Kafka did not answer within " + ADMIN_TIMEOUT + ": " + e, e);
    }
}

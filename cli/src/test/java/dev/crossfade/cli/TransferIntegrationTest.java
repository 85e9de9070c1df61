package dev.crossfade.cli;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.resps.Tuple;

/**
 * {@code crossfade transfer} both ways on a real Redis and a real Kafka broker, counted by jid: every pending,
 * scheduled and retrying job arrives exactly once, due times are kept, other queues stay, and jobs the Kafka workers
 * already committed are not moved back.
 */
@ExtendWith(CrossfadeServices.class)
class TransferIntegrationTest {
    private static final JobCodec CODEC = JobCodec.defaults();
    private static final String Q = "moving";

    @TempDir
    Path dir;

    private Path config(RedisService redis, KafkaService kafka, TestNamespace ns) throws IOException {
        return CliTestSupport.settings(dir, CliTestSupport.securedUrl(redis), kafka, ns)
                .set("workers.queues", List.of(Q))
                .write();
    }

    @Test
    void redisToKafkaAndBackMovesEveryJobOnce(RedisService redis, KafkaService kafka, TestNamespace ns)
            throws Exception {
        Path c = config(redis, kafka, ns);
        Set<String> pending = new HashSet<>();
        Map<String, Instant> scheduled = new HashMap<>();
        Set<String> other = new HashSet<>();
        Instant due = Instant.now().plus(Duration.ofHours(1));
        try (Node node = Node.start(CrossfadeConfig.load(c, Map.of()), new SimpleMeterRegistry())) {
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 1_200; i++) {
                Job j = Job.builder("crossfade.Echo").args(i).queue(Q).build();
                jobs.add(j);
                pending.add(j.jid());
            }
            for (int i = 0; i < 5; i++) {
                Job j = Job.builder("crossfade.Echo")
                        .args("other", i)
                        .queue("other")
                        .build();
                jobs.add(j);
                other.add(j.jid());
            }
            node.redis().queue().enqueueAll(jobs);
            for (int i = 0; i < 20; i++) {
                Job j = Job.builder("crossfade.Echo").args("later", i).queue(Q).build();
                node.redis().queue().enqueueAt(j, due.plusSeconds(i));
                scheduled.put(j.jid(), due.plusSeconds(i));
            }
            for (int i = 0; i < 10; i++) {
                // A failed job waiting for its retry, as the execution core writes it.
                Job j = Job.builder("crossfade.Echo")
                        .args("retrying", i)
                        .queue(Q)
                        .retryCount(i % 3)
                        .errorClass("java.lang.IllegalStateException")
                        .errorMessage("boom")
                        .failedAt(Instant.now())
                        .build();
                Instant at = due.plusSeconds(100 + i);
                node.redis()
                        .redis()
                        .zadd(
                                node.redis().key("retry").getBytes(StandardCharsets.UTF_8),
                                at.getEpochSecond(),
                                CODEC.encode(j));
                scheduled.put(j.jid(), Instant.ofEpochSecond(at.getEpochSecond()));
            }
            // Another queue's scheduled job must stay where it is.
            node.redis()
                    .queue()
                    .enqueueAt(Job.builder("crossfade.Echo").queue("other").build(), due);
        }

        CliTestSupport.Result r =
                CliTestSupport.run("transfer", "--from", "redis", "--to", "kafka", "--queue", Q, "-c", c.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(
                r.out()
                        .contains("moved 1230 jobs of queue moving from redis to kafka: 1200 pending, "
                                + "20 scheduled, 10 retries"),
                r.out());

        try (Node node = Node.start(CrossfadeConfig.load(c, Map.of()), new SimpleMeterRegistry())) {
            assertEquals(0L, node.redis().admin().queueSizes().getOrDefault(Q, 0L), "Redis queue emptied");
            assertEquals(5L, node.redis().admin().queueSizes().get("other"), "other queue untouched");
            assertEquals(1L, node.redis().admin().scheduledSize(), "only the other queue's scheduled job stays");
            assertEquals(0L, node.redis().admin().retrySize());
        }
        Map<String, Integer> onKafka = jidCounts(kafka, List.of(ns.value() + "." + Q));
        assertExactly(pending, onKafka, "pending jobs on the Kafka jobs topic");
        Map<String, Long> dueOnKafka = new HashMap<>();
        Map<String, Integer> delayed = jidCounts(kafka, delayTopics(kafka, ns), dueOnKafka);
        assertExactly(scheduled.keySet(), delayed, "scheduled and retrying jobs in the delay tiers");
        scheduled.forEach((jid, at) ->
                assertTrue(Math.abs(dueOnKafka.get(jid) - at.toEpochMilli()) < 1_000, "due time kept for " + jid));

        // Kafka workers already ran the first 100 records of partition 0: those are done and must not come back.
        TopicPartition p0 = new TopicPartition(ns.value() + "." + Q, 0);
        Set<String> consumed = firstJids(kafka, p0, 100);
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.alterConsumerGroupOffsets(ns.value() + ".workers:" + Q, Map.of(p0, new OffsetAndMetadata(100)))
                    .all()
                    .get(30, TimeUnit.SECONDS);
        }
        r = CliTestSupport.run("transfer", "--from", "kafka", "--to", "redis", "--queue", Q, "-c", c.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(
                r.out()
                        .contains(
                                "moved 1130 jobs of queue moving from kafka to redis: 1100 pending, 20 scheduled, 10 retries"),
                r.out());

        try (Node node = Node.start(CrossfadeConfig.load(c, Map.of()), new SimpleMeterRegistry())) {
            Set<String> expected = new HashSet<>(pending);
            expected.removeAll(consumed);
            Map<String, Integer> inRedis = new HashMap<>();
            for (byte[] p : node.redis()
                    .redis()
                    .lrange(node.redis().key("queue:" + Q).getBytes(StandardCharsets.UTF_8), 0, -1)) {
                inRedis.merge(CODEC.decode(p).jid(), 1, Integer::sum);
            }
            assertExactly(expected, inRedis, "pending jobs back in Redis, minus the ones Kafka workers ran");
            Map<String, Integer> inSchedule = new HashMap<>();
            for (Tuple t : node.redis()
                    .redis()
                    .zrangeWithScores(node.redis().key("schedule").getBytes(StandardCharsets.UTF_8), 0, -1)) {
                Job j = CODEC.decode(t.getBinaryElement());
                if (j.queue().equals(Q)) {
                    inSchedule.merge(j.jid(), 1, Integer::sum);
                    assertTrue(
                            Math.abs(t.getScore() * 1000
                                            - scheduled.get(j.jid()).toEpochMilli())
                                    < 1_000,
                            "due time kept for " + j.jid());
                }
            }
            assertExactly(scheduled.keySet(), inSchedule, "scheduled and retrying jobs back in the Redis schedule");
        }
        // A second run finds nothing: the offsets were committed.
        r = CliTestSupport.run("transfer", "--from", "kafka", "--to", "redis", "--queue", Q, "-c", c.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("moved 0 jobs"), r.out());
    }

    @Test
    void fromKafkaIsRefusedWhileKafkaWorkersRun(RedisService redis, KafkaService kafka, TestNamespace ns)
            throws Exception {
        Path c = config(redis, kafka, ns);
        try (Node node = Node.start(CrossfadeConfig.load(c, Map.of()), new SimpleMeterRegistry())) {
            node.kafka().queue().enqueue(Job.builder("crossfade.Echo").queue(Q).build());
            WorkerRuntime workers =
                    node.workers(getClass().getClassLoader(), null, null, Set.of(Q), Set.of(Backend.KAFKA), 1);
            workers.start();
            try (Admin admin =
                    Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
                String group = ns.value() + ".workers:" + Q;
                await().atMost(Duration.ofSeconds(30))
                        .ignoreExceptions()
                        .until(() -> !admin.describeConsumerGroups(List.of(group))
                                .all()
                                .get()
                                .get(group)
                                .members()
                                .isEmpty());
            }
            try {
                CliTestSupport.Result r = CliTestSupport.run(
                        "transfer", "--from", "kafka", "--to", "redis", "--queue", Q, "-c", c.toString());
                assertEquals(1, r.exit(), r.out());
                assertEquals(1, r.err().strip().lines().count(), r.err());
                assertTrue(r.err().contains("active member") && r.err().contains("stop the Kafka workers"), r.err());
            } finally {
                workers.stop(Duration.ofSeconds(10));
            }
        }
    }

    @Test
    void badDirectionsAreAConfigError() {
        CliTestSupport.Result r = CliTestSupport.run("transfer", "--from", "redis", "--to", "redis", "--queue", Q);
        assertEquals(2, r.exit());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        r = CliTestSupport.run("transfer", "--from", "redis", "--to", "kafka");
        assertEquals(2, r.exit(), "picocli usage error for a missing --queue");
        assertTrue(r.err().contains("--queue"), r.err());
    }

    private static void assertExactly(Set<String> expected, Map<String, Integer> counts, String what) {
        Set<String> missing = new HashSet<>(expected);
        missing.removeAll(counts.keySet());
        Set<String> extra = new HashSet<>(counts.keySet());
        extra.removeAll(expected);
        long dups = counts.values().stream().filter(n -> n > 1).count();
        assertTrue(
                missing.isEmpty() && extra.isEmpty() && dups == 0,
                what + ": " + missing.size() + " lost, " + extra.size() + " unexpected, " + dups + " duplicated (of "
                        + expected.size() + ")");
    }

    private static List<String> delayTopics(KafkaService kafka, TestNamespace ns) throws Exception {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            return admin.listTopics().names().get(30, TimeUnit.SECONDS).stream()
                    .filter(t -> t.startsWith(ns.value() + "." + Q + ".delay."))
                    .toList();
        }
    }

    private static Map<String, Integer> jidCounts(KafkaService kafka, List<String> topics) {
        return jidCounts(kafka, topics, new HashMap<>());
    }

    /** Every record of the topics, counted by jid; {@code due} gets each record's due header when it has one. */
    private static Map<String, Integer> jidCounts(KafkaService kafka, List<String> topics, Map<String, Long> due) {
        Map<String, Integer> counts = new HashMap<>();
        try (KafkaConsumer<byte[], byte[]> c = consumer(kafka)) {
            List<TopicPartition> tps = new ArrayList<>();
            topics.forEach(t -> c.partitionsFor(t).forEach(p -> tps.add(new TopicPartition(t, p.partition()))));
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps);
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    counts.merge(CODEC.decode(r.value()).jid(), 1, Integer::sum);
                    var h = r.headers().lastHeader("crossfade-due");
                    if (h != null) {
                        due.put(
                                CODEC.decode(r.value()).jid(),
                                Long.parseLong(new String(h.value(), StandardCharsets.UTF_8)));
                    }
                }
                return tps.stream().allMatch(tp -> c.position(tp) >= end.get(tp));
            });
        }
        return counts;
    }

    private static Set<String> firstJids(KafkaService kafka, TopicPartition tp, int n) {
        Set<String> jids = new HashSet<>();
        try (KafkaConsumer<byte[], byte[]> c = consumer(kafka)) {
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    if (r.offset() < n) {
                        jids.add(CODEC.decode(r.value()).jid());
                    }
                }
                return c.position(tp) >= n;
            });
        }
        assertEquals(n, jids.size());
        return jids;
    }

    private static KafkaConsumer<byte[], byte[]> consumer(KafkaService kafka) {
        return new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                false,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class));
    }
}

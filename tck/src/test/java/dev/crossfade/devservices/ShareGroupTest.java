package dev.crossfade.devservices;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.devservices.junit.CrossfadeServices;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicIdPartition;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Share groups (KIP-932, queues for Kafka) work on the shared broker out of the box. */
@ExtendWith(CrossfadeServices.class)
class ShareGroupTest {

    @Test
    void shareConsumerReceivesAndAcknowledgesRecords(KafkaService kafka, TestNamespace ns) throws Exception {
        String topic = ns.topic("jobs");
        String group = ns.group("workers");
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            admin.createTopics(List.of(new NewTopic(topic, 1, (short) 1))).all().get(30, TimeUnit.SECONDS);
            // A share group starts at the log end unless the *group* config says otherwise; there is no client setting.
            ConfigResource groupResource = new ConfigResource(ConfigResource.Type.GROUP, group);
            admin.incrementalAlterConfigs(Map.of(
                            groupResource,
                            List.of(new AlterConfigOp(
                                    new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET))))
                    .all()
                    .get(30, TimeUnit.SECONDS);

            try (KafkaProducer<String, String> producer = new KafkaProducer<>(
                    Map.of(
                            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                            kafka.bootstrapServers(),
                            ProducerConfig.ACKS_CONFIG,
                            "all"),
                    new StringSerializer(),
                    new StringSerializer())) {
                for (int i = 0; i < 10; i++) {
                    producer.send(new ProducerRecord<>(topic, "job-" + i)).get(30, TimeUnit.SECONDS);
                }
            }

            Set<String> received = new HashSet<>();
            List<Short> job0Deliveries = new ArrayList<>();
            List<Map<TopicIdPartition, Optional<KafkaException>>> commits = new ArrayList<>();
            try (KafkaShareConsumer<String, String> consumer = new KafkaShareConsumer<>(
                    Map.of(
                            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                            kafka.bootstrapServers(),
                            ConsumerConfig.GROUP_ID_CONFIG,
                            group,
                            ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG,
                            "explicit"),
                    new StringDeserializer(),
                    new StringDeserializer())) {
                consumer.subscribe(List.of(topic));
                await().atMost(Duration.ofSeconds(60)).until(() -> {
                    for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) {
                        if (r.value().equals("job-0")) {
                            job0Deliveries.add(r.deliveryCount().orElseThrow());
                            if (job0Deliveries.size() == 1) {
                                // give it back: the broker must deliver it again, counting the attempt
                                consumer.acknowledge(r, AcknowledgeType.RELEASE);
                                continue;
                            }
                        }
                        received.add(r.value());
                        consumer.acknowledge(r, AcknowledgeType.ACCEPT);
                    }
                    commits.add(consumer.commitSync(Duration.ofSeconds(10)));
                    return received.size() == 10;
                });
            }
            assertEquals(10, received.size());
            assertEquals(List.of((short) 1, (short) 2), job0Deliveries, "a released record comes back once more");
            for (Map<TopicIdPartition, Optional<KafkaException>> commit : commits) {
                commit.forEach((tp, error) -> assertTrue(error.isEmpty(), () -> tp + " failed: " + error));
            }

            // The broker recorded the acknowledgements: nothing is left for the group to deliver. (startOffset itself
            // may still read 0 here: the broker advances the persisted share-partition start offset lazily.)
            TopicPartition tp = new TopicPartition(topic, 0);
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                Map<TopicPartition, SharePartitionOffsetInfo> offsets = admin.listShareGroupOffsets(
                                Map.of(group, new ListShareGroupOffsetsSpec().topicPartitions(List.of(tp))))
                        .partitionsToOffsetInfo(group)
                        .get(10, TimeUnit.SECONDS);
                assertEquals(Optional.of(0L), offsets.get(tp).lag(), offsets.toString());
            });
        }
    }
}

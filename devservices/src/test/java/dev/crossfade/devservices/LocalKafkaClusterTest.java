package dev.crossfade.devservices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A secured three-node cluster this class owns: replication 3 and min.insync.replicas 2 by default, a leader's
 * SIGKILL and restart without losing an acknowledged record, and a client without the SASL/TLS settings refused.
 */
class LocalKafkaClusterTest {
    private static LocalKafkaCluster cluster;
    private static KafkaSecurity security;

    @BeforeAll
    static void startCluster() {
        security = KafkaSecurity.generate();
        cluster = LocalKafkaCluster.builder().security(security).build().start();
    }

    @AfterAll
    static void closeCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static Map<String, Object> secured(Map<String, Object> props) {
        Map<String, Object> p = new HashMap<>(props);
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
        p.putAll(security.clientProperties());
        return p;
    }

    @Test
    void topicsGetReplicationThreeAndALeaderKillLosesNoAcknowledgedRecord() throws Exception {
        String topic = "cluster-kill";
        try (Admin admin = Admin.create(secured(Map.of()))) {
            // No replication given: the cluster's default applies.
            admin.createTopics(List.of(new NewTopic(topic, java.util.Optional.of(1), java.util.Optional.empty())))
                    .all()
                    .get(30, TimeUnit.SECONDS);
            ConfigEntry minIsr = admin.describeConfigs(List.of(new ConfigResource(ConfigResource.Type.TOPIC, topic)))
                    .all()
                    .get(30, TimeUnit.SECONDS)
                    .values()
                    .iterator()
                    .next()
                    .get("min.insync.replicas");
            assertEquals("2", minIsr.value());
        }
        assertEquals(3, cluster.inSyncReplicas(topic, 0).size());

        Map<String, Object> props = secured(Map.of(
                ProducerConfig.ACKS_CONFIG,
                "all",
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
                StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                StringSerializer.class,
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
                60_000));
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
            producer.send(new ProducerRecord<>(topic, "before")).get(30, TimeUnit.SECONDS);
            LocalKafka leader = cluster.leaderOf(topic, 0);
            leader.kill();
            assertFalse(leader.isRunning());
            // Two of three in sync: writes go on, on a new leader.
            producer.send(new ProducerRecord<>(topic, "during")).get(60, TimeUnit.SECONDS);
            assertNotEquals(leader.nodeId(), cluster.leaderOf(topic, 0).nodeId());
            leader.start();
            cluster.awaitBrokers(3, Duration.ofSeconds(60));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (cluster.inSyncReplicas(topic, 0).size() < 3 && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            assertTrue(cluster.inSyncReplicas(topic, 0).contains(leader.nodeId()), "the restarted node caught up");
            producer.send(new ProducerRecord<>(topic, "after")).get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aClientWithoutTheSecuritySettingsIsRefused() {
        Map<String, Object> plain = Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers(),
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000);
        try (Admin admin = Admin.create(plain)) {
            assertThrows(
                    ExecutionException.class,
                    () -> admin.describeCluster().nodes().get(10, TimeUnit.SECONDS));
        }
        Map<String, Object> wrongPassword = new HashMap<>(secured(Map.of(
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5000)));
        wrongPassword.put(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"crossfade\" "
                        + "password=\"wrong\";");
        try (Admin admin = Admin.create(wrongPassword)) {
            ExecutionException e = assertThrows(
                    ExecutionException.class,
                    () -> admin.describeCluster().nodes().get(10, TimeUnit.SECONDS));
            assertTrue(
                    e.getCause() instanceof org.apache.kafka.common.errors.SaslAuthenticationException,
                    e.getCause().toString());
        }
        assertFalse(security.toString().contains(security.password()));
    }
}

package dev.crossfade.cli.runtime;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.worker.WorkerProvider;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.cli.ramp.RampStore;
import dev.crossfade.config.ConfigException;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.UnifiedJedis;

/** Workers named in configuration, and the built-in ledger, on real servers. */
@ExtendWith(CrossfadeServices.class)
class NodeWorkersTest {
    static final Set<String> RAN = ConcurrentHashMap.newKeySet();

    /** A provider named in configuration. */
    public static final class NamedProvider implements WorkerProvider {
        @Override
        public void register(WorkerRegistry.Builder registry) {
            registry.register("Configured", (args, ctx) -> RAN.add(ctx.jid()));
        }
    }

    @TempDir
    Path dir;

    private CrossfadeConfig config(RedisService redis, KafkaService kafka, TestNamespace ns, String providers) {
        return config(redis, kafka, ns, ns.value() + ":", providers);
    }

    private CrossfadeConfig config(
            RedisService redis, KafkaService kafka, TestNamespace ns, String namespace, String providers) {
        return CrossfadeConfig.load(
                null,
                Map.of(
                        "CROSSFADE_REDIS_URL",
                        redis.uri().toString(),
                        "CROSSFADE_REDIS_NAMESPACE",
                        namespace,
                        "CROSSFADE_KAFKA_BOOTSTRAP",
                        kafka.bootstrapServers(),
                        "CROSSFADE_KAFKA_TOPIC_PREFIX",
                        ns.value(),
                        "CROSSFADE_FLAGS_FILE",
                        dir.resolve("f.json").toString(),
                        "CROSSFADE_WORKERS_PROVIDERS",
                        providers));
    }

    @Test
    void configuredProvidersAndTheLedgerRunOnBothBackends(RedisService redis, KafkaService kafka, TestNamespace ns) {
        try (Node node =
                Node.start(config(redis, kafka, ns, NamedProvider.class.getName()), new SimpleMeterRegistry())) {
            WorkerRuntime w = node.workers(
                    getClass().getClassLoader(),
                    null,
                    null,
                    Set.of("default"),
                    Set.of(Backend.REDIS, Backend.KAFKA),
                    2);
            w.start();
            try {
                String onRedis = node.redis().queue().enqueue(Job.of("Configured"));
                String onKafka = node.kafka().queue().enqueue(Job.of("Configured"));
                String ledger = node.kafka().queue().enqueue(Job.of(BuiltInWorkers.LEDGER, 1));
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> RAN.contains(onRedis)
                                && RAN.contains(onKafka)
                                && "1"
                                        .equals(node.redis()
                                                .redis()
                                                .hget(BuiltInWorkers.ledgerKey(ns.value() + ":"), ledger)));
            } finally {
                w.stop(Duration.ofSeconds(5));
            }
        }
    }

    /**
     * Jobs of a class only Ruby knows, fetched here, are counted for status and the dashboard of any process, under
     * the namespace with Sidekiq's separator even when the setting leaves it out.
     */
    @Test
    void classesNoJavaWorkerKnowsAreReportedPerQueue(RedisService redis, KafkaService kafka, TestNamespace ns) {
        CrossfadeConfig config = config(redis, kafka, ns, ns.value(), "");
        try (Node node = Node.start(config, new SimpleMeterRegistry(), Set.of(Backend.REDIS))) {
            WorkerRuntime w =
                    node.workers(getClass().getClassLoader(), null, null, Set.of("default"), Set.of(Backend.REDIS), 2);
            w.start();
            try {
                for (int i = 0; i < 3; i++) {
                    node.redis().queue().enqueue(Job.of("RubyOnlyMailer", i));
                }
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> node.redis().admin().retrySize() == 3);
            } finally {
                w.stop(Duration.ofSeconds(5));
            }
        }
        try (Node status = Node.start(config, new SimpleMeterRegistry(), Set.of(Backend.REDIS))) {
            Map<String, Map<String, Long>> unknown = status.unknownClasses().read(Set.of("default"));
            assertEquals(Map.of("default", Map.of("RubyOnlyMailer", 3L)), unknown);
            assertTrue(UnknownClasses.warning("default", unknown.get("default")).contains("RubyOnlyMailer"));
            assertEquals(
                    Map.of("RubyOnlyMailer", "3"),
                    status.redis().redis().hgetAll(ns.key("crossfade", "unknown-classes", "default")));
        }
    }

    /**
     * A namespace set without the trailing {@code :} ({@code myapp}, as the redis-namespace gem takes it) puts the
     * ramp's state, log and lease beside its hold and Sidekiq's keys ({@code myapp:...}), not at {@code myappcrossfade:...}.
     */
    @Test
    void theRampsKeysShareTheBackendsNamespace(RedisService redis, KafkaService kafka, TestNamespace ns) {
        try (Node node = Node.start(
                config(redis, kafka, ns, ns.value(), ""), new SimpleMeterRegistry(), Set.of(Backend.REDIS))) {
            RampStore store = node.rampStore();
            assertTrue(store.acquire("token", Duration.ofSeconds(30)));
            assertTrue(store.save("token", Map.of("step", "1")));
            store.record(Map.of("message", "started"));
            store.hold("test");
            UnifiedJedis raw = node.redis().redis();
            assertEquals("token", raw.get(ns.key("crossfade", "ramp", "lease")));
            assertEquals(Map.of("step", "1"), raw.hgetAll(ns.key("crossfade", "ramp", "state")));
            assertEquals(1, raw.llen(ns.key("crossfade", "ramp", "log")));
            assertEquals("test", raw.get(ns.key("crossfade", "ramp", "hold")));
            assertEquals(node.redis().key("queue:default"), ns.key("queue", "default"));
        }
    }

    @Test
    void aMisnamedProviderIsAConfigErrorNamingTheKey(RedisService redis, KafkaService kafka, TestNamespace ns) {
        try (Node node = Node.start(config(redis, kafka, ns, "com.example.Nope"), new SimpleMeterRegistry())) {
            ConfigException e = assertThrows(
                    ConfigException.class,
                    () -> node.workers(
                            getClass().getClassLoader(), null, null, Set.of("default"), Set.of(Backend.REDIS), 1));
            assertTrue(e.getMessage().contains("workers.providers")
                    && e.getMessage().contains("com.example.Nope"));
        }
    }
}

package dev.crossfade.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.crossfade.api.JobQueue;
import dev.crossfade.api.worker.JobArgs;
import dev.crossfade.api.worker.JobContext;
import dev.crossfade.api.worker.Worker;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.config.ConfigException;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.config.Setting;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.LaunchDarklyEndpoints;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import dev.crossfade.redis.SidekiqVersion;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Which beans the auto-configuration makes from which properties, without starting workers: nothing here connects
 * to a server (the backends connect lazily).
 */
class CrossfadeAutoConfigurationTest {

    @TempDir
    Path dir;

    private ApplicationContextRunner runner() {
        return new ApplicationContextRunner()
                .withConfiguration(
                        AutoConfigurations.of(CrossfadeAutoConfiguration.class, CrossfadeHealthAutoConfiguration.class))
                .withPropertyValues(
                        "crossfade.workers.enabled=false", "crossfade.flags.file=" + dir.resolve("flags.json"));
    }

    @Test
    void userRedisBackendMakesTheAutoConfigurationBackOff() {
        runner().withUserConfiguration(UserRedis.class)
                .withPropertyValues("crossfade.workers.backends=redis")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).getBean(RedisBackend.class).isSameAs(context.getBean("userRedis"));
                    assertThat(context.getBean(RedisBackend.class).config().namespace())
                            .startsWith("user");
                    assertThat(context).doesNotHaveBean(KafkaBackend.class);
                    assertThat(context.getBean(JobQueue.class))
                            .isSameAs(context.getBean(RedisBackend.class).queue());
                });
    }

    @Test
    void workersEnabledFalseMakesAnEnqueueOnlyApplication() {
        runner().withPropertyValues("crossfade.workers.backends=redis").run(context -> {
            assertThat(context).hasSingleBean(JobQueue.class);
            assertThat(context).doesNotHaveBean(WorkerLifecycle.class);
        });
    }

    /** The Redis settings reach the backend as the command's {@code work} passes them. */
    @Test
    void redisSettingsReachTheBackend() {
        runner().withPropertyValues(
                        "crossfade.workers.backends=redis",
                        "crossfade.redis.sidekiq-version=7",
                        "crossfade.redis.heartbeat-ttl=12s")
                .run(context -> {
                    RedisBackendConfig config =
                            context.getBean(RedisBackend.class).config();
                    assertThat(config.sidekiqVersion()).isEqualTo(SidekiqVersion.V7);
                    assertThat(config.recoveryTimeout()).isEqualTo(Duration.ofSeconds(12));
                    assertThat(config.heartbeatInterval()).isEqualTo(Duration.ofSeconds(2));
                });
    }

    /**
     * Every {@code redis.*} and {@code kafka.*} setting the starter binds reaches its backend, as {@code crossfade work}
     * passes it. A setting added to the table fails here until the starter passes it and this test checks it: the
     * starter's beans dropped settings twice before (they were bound and validated, then ignored).
     */
    @Test
    void everyBackendSettingReachesItsBackend() throws Exception {
        // An empty PKCS12 store: the admin client the backend makes loads it.
        Path truststore = dir.resolve("trust.p12");
        java.security.KeyStore store = java.security.KeyStore.getInstance("PKCS12");
        store.load(null, null);
        try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(truststore)) {
            store.store(out, "tpw".toCharArray());
        }
        Map<String, String> values = new java.util.LinkedHashMap<>();
        values.put("redis.url", "redis://127.0.0.1:1");
        values.put("redis.namespace", "shop");
        values.put("redis.sidekiq-version", "7");
        values.put("redis.strict-maxmemory", "true");
        values.put("redis.wait-replicas", "1");
        values.put("redis.wait-timeout", "250ms");
        values.put("redis.heartbeat-ttl", "12s");
        values.put("kafka.bootstrap", "127.0.0.1:1");
        values.put("kafka.topic-prefix", "shop");
        values.put("kafka.partitions", "7");
        values.put("kafka.replication", "2");
        values.put("kafka.mode", "share");
        values.put("kafka.ordering", "none");
        values.put("kafka.max-recoveries", "4");
        values.put("kafka.session-timeout", "9s");
        values.put("kafka.security-protocol", "SASL_SSL");
        values.put("kafka.sasl-mechanism", "PLAIN");
        values.put("kafka.sasl-username", "app");
        values.put("kafka.sasl-password", "pw");
        values.put("kafka.ssl-truststore", truststore.toString());
        values.put("kafka.ssl-truststore-password", "tpw");
        List<String> bound = Setting.ALL.stream()
                .map(Setting::key)
                .filter(k -> k.startsWith("redis.") || k.startsWith("kafka."))
                .filter(k -> !dev.crossfade.spring.boot.internal.ConfigurationMetadata.commandOnly(k))
                .sorted()
                .toList();
        assertThat(values.keySet().stream().sorted().toList())
                .as("settings checked here: pass a new one in the starter's bean, then check it here")
                .isEqualTo(bound);
        runner().withPropertyValues("crossfade.workers.backends=redis")
                .withPropertyValues(values.entrySet().stream()
                        .map(e -> "crossfade." + e.getKey() + "=" + e.getValue())
                        .toArray(String[]::new))
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    RedisBackendConfig redis =
                            context.getBean(RedisBackend.class).config();
                    assertThat(redis.url()).hasToString("redis://127.0.0.1:1");
                    assertThat(redis.namespace()).isEqualTo("shop:");
                    assertThat(redis.sidekiqVersion()).isEqualTo(SidekiqVersion.V7);
                    assertThat(redis.strictEvictionPolicy()).isTrue();
                    assertThat(redis.waitReplicas()).isEqualTo(1);
                    assertThat(redis.waitTimeout()).isEqualTo(Duration.ofMillis(250));
                    assertThat(redis.recoveryTimeout()).isEqualTo(Duration.ofSeconds(12));
                    KafkaBackendConfig kafka =
                            context.getBean(KafkaBackend.class).config();
                    assertThat(kafka.bootstrapServers()).isEqualTo("127.0.0.1:1");
                    assertThat(kafka.topicPrefix()).isEqualTo("shop");
                    assertThat(kafka.partitions()).isEqualTo(7);
                    assertThat(kafka.replication()).contains((short) 2);
                    assertThat(kafka.mode()).isEqualTo(KafkaBackendConfig.Mode.SHARE);
                    assertThat(kafka.ordering()).isEqualTo(KafkaBackendConfig.Ordering.NONE);
                    assertThat(kafka.maxRecoveries()).isEqualTo(4);
                    assertThat(kafka.groupConfigs()).containsEntry("consumer.session.timeout.ms", "9000");
                    assertThat(kafka.clientProperties())
                            .containsEntry("security.protocol", "SASL_SSL")
                            .containsEntry("sasl.mechanism", "PLAIN")
                            .containsEntry("ssl.truststore.location", truststore.toString())
                            .containsEntry("ssl.truststore.password", "tpw");
                    assertThat(String.valueOf(kafka.clientProperties().get("sasl.jaas.config")))
                            .contains("username=\"app\"", "password=\"pw\"");
                });
    }

    /**
     * Every {@code flags.*} setting the starter uses reaches the flags' configuration, as {@code crossfade work} passes
     * it; a setting added to the table fails here until it is passed and checked. The LaunchDarkly SDK starts against
     * unreachable endpoints without waiting.
     */
    @Test
    void everyFlagsSettingReachesTheFlags() {
        List<String> checked = List.of(
                "flags.base-uri",
                "flags.events-uri",
                "flags.file",
                "flags.kill-switch-flag",
                "flags.migration-flag",
                "flags.relay-uri",
                "flags.route-flag",
                "flags.sdk-key",
                "flags.shadow-flag",
                "flags.start-wait",
                "flags.stream-uri");
        List<String> bound = Setting.ALL.stream()
                .map(Setting::key)
                .filter(k -> k.startsWith("flags."))
                .filter(k -> !dev.crossfade.spring.boot.internal.ConfigurationMetadata.commandOnly(k))
                .sorted()
                .toList();
        assertThat(checked)
                .as("settings checked here: pass a new one in the starter's bean, then check it here")
                .isEqualTo(bound);
        java.net.URI relay = java.net.URI.create("http://127.0.0.1:1");
        java.net.URI events = java.net.URI.create("http://127.0.0.1:2");
        runner().withPropertyValues(
                        "crossfade.workers.backends=redis",
                        "crossfade.flags.sdk-key=sdk-test",
                        "crossfade.flags.relay-uri=" + relay,
                        "crossfade.flags.events-uri=" + events,
                        "crossfade.flags.route-flag=route",
                        "crossfade.flags.kill-switch-flag=kill",
                        "crossfade.flags.shadow-flag=shadow",
                        "crossfade.flags.migration-flag=migration",
                        "crossfade.flags.start-wait=0s")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    FlagsConfig config = context.getBean(RoutingFlags.class).config();
                    assertThat(config.source())
                            .isEqualTo(FlagSource.launchDarkly(
                                    "sdk-test", new LaunchDarklyEndpoints(relay, relay, events)));
                    assertThat(List.of(
                                    config.routeFlag(),
                                    config.killSwitchFlag(),
                                    config.shadowFlag(),
                                    config.migrationFlag()))
                            .containsExactly("route", "kill", "shadow", "migration");
                    assertThat(config.startWait()).isEqualTo(Duration.ZERO);
                });
        java.net.URI stream = java.net.URI.create("http://127.0.0.1:3");
        java.net.URI base = java.net.URI.create("http://127.0.0.1:4");
        runner().withPropertyValues(
                        "crossfade.workers.backends=redis",
                        "crossfade.flags.sdk-key=sdk-test",
                        "crossfade.flags.stream-uri=" + stream,
                        "crossfade.flags.base-uri=" + base,
                        "crossfade.flags.start-wait=0s")
                .run(context -> assertThat(
                                context.getBean(RoutingFlags.class).config().source())
                        .isEqualTo(FlagSource.launchDarkly(
                                "sdk-test",
                                new LaunchDarklyEndpoints(stream, base, LaunchDarklyEndpoints.DEFAULT_EVENTS))));
        runner().withPropertyValues("crossfade.workers.backends=redis")
                .run(context -> assertThat(
                                context.getBean(RoutingFlags.class).config().source())
                        .isEqualTo(FlagSource.file(dir.resolve("flags.json"))));
    }

    @Test
    void kafkaBootstrapAloneBringsKafkaAndTheRouter() {
        runner().withPropertyValues("crossfade.workers.backends=redis", "crossfade.kafka.bootstrap=127.0.0.1:1")
                .run(context -> {
                    assertThat(context).hasSingleBean(KafkaBackend.class);
                    assertThat(context.getBean(JobQueue.class))
                            .isInstanceOf(dev.crossfade.router.RoutingJobQueue.class);
                    assertThat(context).hasBean("crossfadeKafkaHealthIndicator");
                });
    }

    @Test
    void annotatedBeansBecomeTheRegistry() {
        runner().withPropertyValues("crossfade.workers.backends=redis")
                .withUserConfiguration(Workers.class)
                .run(context -> {
                    WorkerRegistry registry = context.getBean(WorkerRegistry.class);
                    assertThat(registry.classNames()).containsExactly("HardWorker");
                    WorkerRegistry.Registration hard =
                            registry.find("HardWorker").orElseThrow();
                    assertThat(hard.worker()).isSameAs(context.getBean("hardWorker"));
                    assertThat(hard.options().maxRetries()).isEqualTo(2);
                    assertThat(hard.options().shadowSafe()).isTrue();
                });
    }

    @Test
    void twoWorkersForOneJobClassFailTheStart() {
        runner().withPropertyValues("crossfade.workers.backends=redis")
                .withUserConfiguration(Workers.class, SecondHardWorker.class)
                .run(context ->
                        assertThat(context).hasFailed().getFailure().hasStackTraceContaining("has two workers"));
    }

    /** The command's errors, word for word: the key under crossfade., the source Spring's. */
    @Test
    void badSettingsFailTheStartWithTheCommandsOneLineError() {
        Map<String, String> bad = Map.of(
                "workers.queues", "bad queue",
                "workers.backends", "redis,sqs",
                "workers.concurrency", "0",
                "kafka.mode", "queue",
                "router.kafka-timeout", "2 seconds",
                "redis.url", "http://127.0.0.1:6379",
                "kafka.bootstrap", "broker-without-port");
        bad.forEach((key, value) -> {
            String command = commandError(key, value);
            runner().withPropertyValues("crossfade." + key + "=" + value).run(context -> {
                assertThat(context).hasFailed();
                assertThat(context.getStartupFailure())
                        .rootCause()
                        .isInstanceOf(ConfigException.class)
                        .hasMessage(
                                command.replace("config error: " + key + ":", "config error: crossfade." + key + ":")
                                        + " (in \"crossfade." + key
                                        + "\" from property source \"test\")");
            });
        });
    }

    @Test
    void unknownKeyFailsTheStartNamingTheNearestSetting() {
        runner().withPropertyValues("crossfade.kafka.bootstrp=127.0.0.1:9092")
                .run(context -> assertThat(context.getStartupFailure())
                        .rootCause()
                        .hasMessage("config error: crossfade.kafka.bootstrp: unknown key (did you mean "
                                + "'crossfade.kafka.bootstrap'?); see `crossfade config keys`"));
    }

    /** Every setting the starter reads has the command's default, and relaxed forms bind to the same key. */
    @Test
    void defaultsAreTheCommandsAndRelaxedNamesBind() {
        runner().withPropertyValues(
                        "crossfade.workers.backends=redis",
                        "crossfade.kafka.topicPrefix=shop",
                        "crossfade.workers.queues[0]=mail",
                        "crossfade.workers.queues[1]=default")
                .run(context -> {
                    CrossfadeConfig config = context.getBean(CrossfadeConfig.class);
                    CrossfadeConfig command = CrossfadeConfig.defaults();
                    for (Setting s : Setting.ALL) {
                        if (!List.of("workers.backends", "kafka.topic-prefix", "workers.queues", "flags.file")
                                .contains(s.key())) {
                            assertThat(config.string(s.key())).as(s.key()).isEqualTo(command.string(s.key()));
                        }
                    }
                    assertThat(config.string("kafka.topic-prefix")).isEqualTo("shop");
                    assertThat(config.list("workers.queues")).containsExactly("mail", "default");
                    assertThat(config.isSet("kafka.replication"))
                            .as("broker's default")
                            .isFalse();
                });
    }

    /** The IDE metadata in the jar lists the settings the starter reads, with the command's defaults. */
    @Test
    void configurationMetadataComesFromTheSettingsTable() throws Exception {
        com.fasterxml.jackson.databind.JsonNode metadata;
        try (java.io.InputStream in =
                getClass().getClassLoader().getResourceAsStream("META-INF/spring-configuration-metadata.json")) {
            assertThat(in).as("generated at process-classes").isNotNull();
            metadata = new com.fasterxml.jackson.databind.ObjectMapper().readTree(in);
        }
        Map<String, com.fasterxml.jackson.databind.JsonNode> byName = new java.util.HashMap<>();
        metadata.get("properties").forEach(p -> byName.put(p.get("name").asText(), p));
        for (Setting s : Setting.ALL) {
            com.fasterxml.jackson.databind.JsonNode p = byName.get("crossfade." + s.key());
            if (dev.crossfade.spring.boot.internal.ConfigurationMetadata.commandOnly(s.key())) {
                assertThat(p).as(s.key()).isNull();
            } else {
                assertThat(p).as(s.key()).isNotNull();
                assertThat(
                                p.path("defaultValue").isMissingNode()
                                        ? null
                                        : p.get("defaultValue").asText())
                        .as(s.key())
                        .isEqualTo(s.secret() ? null : s.defaultValue());
            }
        }
        assertThat(byName).containsKey("crossfade.workers.enabled");
    }

    private static String commandError(String key, String value) {
        String env = Setting.find(key).env();
        try {
            CrossfadeConfig.load(null, Map.of(env, value));
        } catch (ConfigException e) {
            return e.getMessage().replace(" (from " + env + ")", "");
        }
        throw new AssertionError(key + "=" + value + " is accepted by the command");
    }

    @Configuration(proxyBeanMethods = false)
    static class UserRedis {
        @Bean
        RedisBackend userRedis() {
            return RedisBackend.create(RedisBackendConfig.custom()
                    .url("redis://127.0.0.1:1/0")
                    .namespace("user")
                    .build());
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Workers {
        @Bean
        @CrossfadeWorker(value = "HardWorker", maxRetries = 2, shadowSafe = true)
        Worker hardWorker() {
            return (JobArgs args, JobContext context) -> {};
        }

        @Bean
        Worker notAnnotated() {
            return (JobArgs args, JobContext context) -> {};
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class SecondHardWorker {
        @Bean
        @CrossfadeWorker("HardWorker")
        Worker anotherHardWorker() {
            return (JobArgs args, JobContext context) -> {};
        }
    }
}

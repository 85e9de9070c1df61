package dev.crossfade.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.crossfade.api.JobQueue;
import dev.crossfade.api.worker.JobArgs;
import dev.crossfade.api.worker.JobContext;
import dev.crossfade.api.worker.Worker;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import java.nio.file.Path;
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
                .withConfiguration(AutoConfigurations.of(CrossfadeAutoConfiguration.class,
                        CrossfadeHealthAutoConfiguration.class))
                .withPropertyValues("crossfade.workers.enabled=false",
                        "crossfade.flags.file=" + dir.resolve("flags.json"));
    }

    @Test
    void userRedisBackendMakesTheAutoConfigurationBackOff() {
        runner().withUserConfiguration(UserRedis.class)
                .withPropertyValues("crossfade.workers.backends=redis")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    assertThat(context).getBean(RedisBackend.class).isSameAs(context.getBean("userRedis"));
                    assertThat(context.getBean(RedisBackend.class).config().namespace()).startsWith("user");
                    assertThat(context).doesNotHaveBean(KafkaBackend.class);
                    assertThat(context.getBean(JobQueue.class))
                            .isSameAs(context.getBean(RedisBackend.class).queue());
                });
    }

    @Test
    void workersEnabledFalseMakesAnEnqueueOnlyApplication() {
        runner().withPropertyValues("crossfade.workers.backends=redis")
                .run(context -> {
                    assertThat(context).hasSingleBean(JobQueue.class);
                    assertThat(context).doesNotHaveBean(WorkerLifecycle.class);
                });
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
                    WorkerRegistry.Registration hard = registry.find("HardWorker").orElseThrow();
                    assertThat(hard.worker()).isSameAs(context.getBean("hardWorker"));
                    assertThat(hard.options().maxRetries()).isEqualTo(2);
                    assertThat(hard.options().shadowSafe()).isTrue();
                });
    }

    @Test
    void twoWorkersForOneJobClassFailTheStart() {
        runner().withPropertyValues("crossfade.workers.backends=redis")
                .withUserConfiguration(Workers.class, SecondHardWorker.class)
                .run(context -> assertThat(context).hasFailed()
                        .getFailure().hasStackTraceContaining("has two workers"));
    }

    @Test
    void invalidSettingsFailTheStart() {
        runner().withPropertyValues("crossfade.workers.queues=bad queue")
                .run(context -> assertThat(context).hasFailed()
                        .getFailure().hasStackTraceContaining("crossfade.workers.queues"));
        runner().withPropertyValues("crossfade.workers.backends=redis,sqs")
                .run(context -> assertThat(context).hasFailed()
                        .getFailure().hasStackTraceContaining("crossfade.workers.backends"));
        runner().withPropertyValues("crossfade.workers.concurrency=0")
                .run(context -> assertThat(context).hasFailed()
                        .getFailure().hasStackTraceContaining("crossfade.workers.concurrency"));
    }

    @Configuration(proxyBeanMethods = false)
    static class UserRedis {
        @Bean
        RedisBackend userRedis() {
            return RedisBackend.create(RedisBackendConfig.custom().url("redis://127.0.0.1:1/0").namespace("user")
                    .build());
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Workers {
        @Bean
        @CrossfadeWorker(value = "HardWorker", maxRetries = 2, shadowSafe = true)
        Worker hardWorker() {
            return (JobArgs args, JobContext context) -> { };
        }

        @Bean
        Worker notAnnotated() {
            return (JobArgs args, JobContext context) -> { };
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class SecondHardWorker {
        @Bean
        @CrossfadeWorker("HardWorker")
        Worker anotherHardWorker() {
            return (JobArgs args, JobContext context) -> { };
        }
    }
}

package dev.crossfade.spring.boot;

import dev.crossfade.api.JobQueue;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.testing.InMemoryBackend;
import dev.crossfade.api.worker.WorkerRegistry;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * What {@link CrossfadeTest} imports. Ordered before {@link CrossfadeAutoConfiguration}, which backs off entirely
 * when an {@link InMemoryBackend} bean exists.
 */
@AutoConfiguration(before = CrossfadeAutoConfiguration.class)
public class CrossfadeTestAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    InMemoryBackend crossfadeInMemoryBackend() {
        return InMemoryBackend.fake();
    }

    @Bean
    @ConditionalOnMissingBean
    JobQueue crossfadeJobQueue(InMemoryBackend backend) {
        return backend.queue();
    }

    @Bean
    @ConditionalOnMissingBean
    WorkerRegistry crossfadeWorkerRegistry(ListableBeanFactory beans) {
        return WorkerBeans.registry(beans);
    }

    @Bean
    @ConditionalOnMissingBean
    ExecutionCore crossfadeExecutionCore(WorkerRegistry registry) {
        return ExecutionCore.builder(registry).build();
    }
}

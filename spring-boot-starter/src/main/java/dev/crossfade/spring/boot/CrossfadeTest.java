package dev.crossfade.spring.boot;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;

/**
 * On a {@code @SpringBootTest} class: Crossfade without servers. The {@link dev.crossfade.api.JobQueue} bean is an
 * {@link dev.crossfade.api.testing.InMemoryBackend}'s queue (also a bean, to inspect what was enqueued), and an
 * {@link dev.crossfade.api.execution.ExecutionCore} over the {@link CrossfadeWorker} beans runs queued jobs when the
 * test says so: {@code backend.drain(core)}. No Redis, Kafka, flags or worker threads are created.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ImportAutoConfiguration(CrossfadeTestAutoConfiguration.class)
public @interface CrossfadeTest {}

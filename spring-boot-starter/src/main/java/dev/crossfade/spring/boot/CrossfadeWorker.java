package dev.crossfade.spring.boot;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Registers a Spring bean that implements {@link dev.crossfade.api.worker.Worker} under a job class name. Put it on
 * the bean's class (next to {@code @Component}) or on its {@code @Bean} method. Only beans registered this way run:
 * a payload names a registered worker, never a class to load.
 *
 * <pre>{@code
 * @Component
 * @CrossfadeWorker(value = "HardWorker", maxRetries = 5)
 * class HardWorker implements Worker { ... }
 * }</pre>
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
public @interface CrossfadeWorker {

    /** The job class name this worker performs (Sidekiq's {@code class}, e.g. {@code HardWorker}). */
    String value();

    /** Retries before the job is dead; negative: the execution core's default (Sidekiq's 25). */
    int maxRetries() default -1;

    /** Whether a shadow copy of this job may run this worker (it has no side effects outside the job). */
    boolean shadowSafe() default false;
}

package dev.crossfade.spring.boot;

import dev.crossfade.api.worker.Worker;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import java.util.HashMap;
import java.util.Map;
import org.springframework.beans.factory.ListableBeanFactory;

/**
 * Builds the {@link WorkerRegistry} from the beans annotated with {@link CrossfadeWorker}. The names come from the
 * annotations in the application's code, so what a payload may run is fixed when the context starts.
 */
final class WorkerBeans {
    private WorkerBeans() {}

    static WorkerRegistry registry(ListableBeanFactory beans) {
        WorkerRegistry.Builder registry = WorkerRegistry.builder();
        Map<String, String> beanOfClass = new HashMap<>();
        for (String beanName : beans.getBeanNamesForAnnotation(CrossfadeWorker.class)) {
            CrossfadeWorker annotation = beans.findAnnotationOnBean(beanName, CrossfadeWorker.class);
            Object bean = beans.getBean(beanName);
            if (!(bean instanceof Worker worker)) {
                throw new IllegalStateException("bean '" + beanName + "' is annotated @CrossfadeWorker but does not "
                        + "implement " + Worker.class.getName());
            }
            String className = annotation.value();
            if (className.isBlank()) {
                throw new IllegalStateException("@CrossfadeWorker on bean '" + beanName + "' names no job class");
            }
            String other = beanOfClass.putIfAbsent(className, beanName);
            if (other != null) {
                // Two beans for one job class would make which one runs depend on bean order.
                throw new IllegalStateException(
                        "job class '" + className + "' has two workers: beans '" + other + "' and '" + beanName + "'");
            }
            registry.register(className, worker, options(annotation));
        }
        return registry.build();
    }

    private static WorkerOptions options(CrossfadeWorker annotation) {
        WorkerOptions.Builder options = WorkerOptions.custom().shadowSafe(annotation.shadowSafe());
        if (annotation.maxRetries() >= 0) {
            options.maxRetries(annotation.maxRetries());
        }
        return options.build();
    }
}

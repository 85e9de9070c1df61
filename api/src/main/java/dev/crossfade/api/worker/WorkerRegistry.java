package dev.crossfade.api.worker;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.Set;

/**
 * The only way a job finds code to run: an immutable map from job class name to worker. A payload naming anything
 * else goes to the dead set or DLQ with an error naming the class; no class is ever loaded from a payload.
 */
public final class WorkerRegistry {
    private final Map<String, Registration> workers;

    private WorkerRegistry(Map<String, Registration> workers) {
        this.workers = Collections.unmodifiableMap(new LinkedHashMap<>(workers));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The worker registered for {@code className}, if any. */
    public Optional<Registration> find(String className) {
        return Optional.ofNullable(workers.get(className));
    }

    /** Registered class names, in registration order. */
    public Set<String> classNames() {
        return workers.keySet();
    }

    /** A worker and its options under one class name. */
    public static final class Registration {
        private final String className;
        private final Worker worker;
        private final WorkerOptions options;

        private Registration(String className, Worker worker, WorkerOptions options) {
            this.className = className;
            this.worker = worker;
            this.options = options;
        }

        public String className() {
            return className;
        }

        public Worker worker() {
            return worker;
        }

        public WorkerOptions options() {
            return options;
        }
    }

    /** Builder for {@link WorkerRegistry}; registering a name twice is an error, to catch wiring mistakes early. */
    public static final class Builder {
        private final Map<String, Registration> workers = new LinkedHashMap<>();

        private Builder() {}

        /** Registers {@code worker} under {@code className} with default options. */
        public Builder register(String className, Worker worker) {
            return register(className, worker, WorkerOptions.defaults());
        }

        /**
         * Registers {@code worker} under {@code className}: a Ruby-style name ({@code HardWorker},
         * {@code Billing::ChargeJob}) or a Java one.
         */
        public Builder register(String className, Worker worker, WorkerOptions options) {
            if (className == null || className.isBlank()) {
                throw new IllegalArgumentException("worker class name must be non-empty");
            }
            Objects.requireNonNull(worker, "worker");
            Objects.requireNonNull(options, "options");
            if (workers.containsKey(className)) {
                throw new IllegalArgumentException("a worker is already registered for class '" + className + "'");
            }
            workers.put(className, new Registration(className, worker, options));
            return this;
        }

        /** Registers the workers of every {@link WorkerProvider} that {@link ServiceLoader} finds on the loader. */
        public Builder discover(ClassLoader loader) {
            for (WorkerProvider p : ServiceLoader.load(WorkerProvider.class, loader)) {
                p.register(this);
            }
            return this;
        }

        public WorkerRegistry build() {
            return new WorkerRegistry(workers);
        }
    }
}

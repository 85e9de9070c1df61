package dev.crossfade.api.worker;

/**
 * Service-provider interface for jars that bring their own workers: list the implementation in
 * {@code META-INF/services/dev.crossfade.api.worker.WorkerProvider} and {@link WorkerRegistry.Builder#discover} (or
 * {@code crossfade work}) registers them. Providers are found by {@link java.util.ServiceLoader}, never from a name in
 * a job payload.
 */
public interface WorkerProvider {
    /** Adds this jar's workers to the registry being built. */
    void register(WorkerRegistry.Builder registry);
}

package dev.crossfade.router;

import dev.crossfade.api.Backend;

/**
 * Told where each authoritative write of {@link RoutingJobQueue} landed, so a rollout's guardrails can see fallbacks
 * across processes ({@link RouterConfig.Builder#routeListener}). Called on the enqueuing thread: keep it to an
 * in-memory count; its exceptions are ignored.
 */
@FunctionalInterface
public interface RouteListener {
    /** A listener that does nothing. */
    RouteListener NONE = (chosen, landed, jobs) -> {};

    /** {@code jobs} jobs the flags sent to {@code chosen} were accepted by {@code landed} (the other on fallback). */
    void routed(Backend chosen, Backend landed, int jobs);
}

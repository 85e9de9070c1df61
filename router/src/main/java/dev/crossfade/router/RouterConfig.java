package dev.crossfade.router;

import dev.crossfade.api.execution.TwinMarks;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of {@link RoutingJobQueue}. Immutable; build with {@link #custom()}.
 *
 * <table>
 *   <caption>Settings and defaults</caption>
 *   <tr><th>setting</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>kafkaTimeout</td><td>2 s</td><td>longest a Kafka enqueue may take before the job goes to Redis instead:
 *   the limit handed to {@code JobQueue.enqueueAll(jobs, limit)}, which the Kafka backend keeps to on the caller's
 *   thread; also the breaker's slow-call threshold</td></tr>
 *   <tr><td>circuitBreaker</td><td>count window 20, at least 10 calls, opens at 50% failures or slow calls, stays
 *   open 10 s, 5 trial calls half-open</td><td>resilience4j config for the breaker around Kafka enqueues; while open,
 *   Kafka-bound jobs go straight to Redis</td></tr>
 *   <tr><td>meterRegistry</td><td>Micrometer's global registry</td><td>enqueue, fallback and breaker meters</td></tr>
 *   <tr><td>twinMarks</td><td>{@link TwinMarks#NONE}</td><td>where a job is marked before it falls back to Redis after
 *   a Kafka write of unknown fate (a timeout or an error after sending), so run-once guards claim it; set it to
 *   {@code RedisBackend.twinMarks(memory)} whenever workers run with a run-once guard</td></tr>
 *   <tr><td>twinFence</td><td>2 s</td><td>how long such a fallback copy waits on Redis before it may run, so every
 *   worker process has seen its mark first (guards read marks about every 250 ms)</td></tr>
 *   <tr><td>routeListener</td><td>{@link RouteListener#NONE}</td><td>told where each authoritative write landed
 *   (a guarded rollout counts fallbacks with it)</td></tr>
 * </table>
 */
public final class RouterConfig {
    private final Duration kafkaTimeout;
    private final CircuitBreakerConfig circuitBreaker;
    private final MeterRegistry meterRegistry;
    private final TwinMarks twinMarks;
    private final Duration twinFence;
    private final RouteListener routeListener;

    private RouterConfig(Builder b) {
        this.routeListener = b.routeListener;
        this.twinMarks = b.twinMarks;
        this.twinFence = b.twinFence;
        this.kafkaTimeout = b.kafkaTimeout;
        this.circuitBreaker = b.circuitBreaker != null ? b.circuitBreaker : defaultBreaker(b.kafkaTimeout);
        this.meterRegistry = b.meterRegistry;
    }

    public static Builder custom() {
        return new Builder();
    }

    public static RouterConfig defaults() {
        return custom().build();
    }

    /** The default breaker: fails over quickly, probes Kafka again after 10 s. */
    public static CircuitBreakerConfig defaultBreaker(Duration kafkaTimeout) {
        return CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(20)
                .minimumNumberOfCalls(10)
                .failureRateThreshold(50)
                .slowCallDurationThreshold(kafkaTimeout)
                .slowCallRateThreshold(50)
                .waitDurationInOpenState(Duration.ofSeconds(10))
                .permittedNumberOfCallsInHalfOpenState(5)
                .automaticTransitionFromOpenToHalfOpenEnabled(true)
                .build();
    }

    public Duration kafkaTimeout() {
        return kafkaTimeout;
    }

    public CircuitBreakerConfig circuitBreaker() {
        return circuitBreaker;
    }

    public MeterRegistry meterRegistry() {
        return meterRegistry;
    }

    public TwinMarks twinMarks() {
        return twinMarks;
    }

    public Duration twinFence() {
        return twinFence;
    }

    public RouteListener routeListener() {
        return routeListener;
    }

    /** Builder for {@link RouterConfig}. */
    public static final class Builder {
        private Duration kafkaTimeout = Duration.ofSeconds(2);
        private CircuitBreakerConfig circuitBreaker;
        private MeterRegistry meterRegistry = Metrics.globalRegistry;
        private TwinMarks twinMarks = TwinMarks.NONE;
        private Duration twinFence = Duration.ofSeconds(2);
        private RouteListener routeListener = RouteListener.NONE;

        private Builder() {}

        public Builder routeListener(RouteListener listener) {
            this.routeListener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        public Builder kafkaTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("kafkaTimeout must be positive, got " + timeout);
            }
            this.kafkaTimeout = timeout;
            return this;
        }

        public Builder circuitBreaker(CircuitBreakerConfig config) {
            this.circuitBreaker = Objects.requireNonNull(config, "config");
            return this;
        }

        public Builder meterRegistry(MeterRegistry registry) {
            this.meterRegistry = Objects.requireNonNull(registry, "registry");
            return this;
        }

        public Builder twinMarks(TwinMarks marks) {
            this.twinMarks = Objects.requireNonNull(marks, "marks");
            return this;
        }

        public Builder twinFence(Duration fence) {
            if (fence == null || fence.isNegative()) {
                throw new IllegalArgumentException("twinFence must be zero or positive, got " + fence);
            }
            this.twinFence = fence;
            return this;
        }

        public RouterConfig build() {
            return new RouterConfig(this);
        }
    }
}

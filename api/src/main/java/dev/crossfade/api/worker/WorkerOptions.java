package dev.crossfade.api.worker;

import java.util.Objects;

/**
 * Per-worker settings, like Sidekiq's {@code sidekiq_options}. Immutable; build with {@link #custom()}.
 *
 * <table>
 *   <caption>Settings and defaults</caption>
 *   <tr><th>setting</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>maxRetries</td><td>unset: the execution core's default (25)</td><td>retries before the job is dead,
 *   unless the job itself says {@code retry: N} or {@code retry: false}</td></tr>
 *   <tr><td>retryPolicy</td><td>unset: the execution core's (Sidekiq backoff)</td><td>delay before each retry</td></tr>
 *   <tr><td>shadowSafe</td><td>false</td><td>run this worker for shadow copies too (it is pure, or checks
 *   {@link JobContext#shadow()} and does a dry run); otherwise a shadow copy records its delivery only</td></tr>
 * </table>
 */
public final class WorkerOptions {
    private static final WorkerOptions DEFAULTS = custom().build();

    private final Integer maxRetries;
    private final RetryPolicy retryPolicy;
    private final boolean shadowSafe;

    private WorkerOptions(Builder b) {
        this.maxRetries = b.maxRetries;
        this.retryPolicy = b.retryPolicy;
        this.shadowSafe = b.shadowSafe;
    }

    public static WorkerOptions defaults() {
        return DEFAULTS;
    }

    public static Builder custom() {
        return new Builder();
    }

    /** Null when the core's default applies. */
    public Integer maxRetries() {
        return maxRetries;
    }

    /** Null when the core's default applies. */
    public RetryPolicy retryPolicy() {
        return retryPolicy;
    }

    public boolean shadowSafe() {
        return shadowSafe;
    }

    /** Builder for {@link WorkerOptions}. */
    public static final class Builder {
        private Integer maxRetries;
        private RetryPolicy retryPolicy;
        private boolean shadowSafe;

        private Builder() {}

        public Builder maxRetries(int maxRetries) {
            if (maxRetries < 0) {
                throw new IllegalArgumentException("maxRetries must be >= 0, got " + maxRetries);
            }
            this.maxRetries = maxRetries;
            return this;
        }

        public Builder retryPolicy(RetryPolicy retryPolicy) {
            this.retryPolicy = Objects.requireNonNull(retryPolicy, "retryPolicy");
            return this;
        }

        public Builder shadowSafe(boolean shadowSafe) {
            this.shadowSafe = shadowSafe;
            return this;
        }

        public WorkerOptions build() {
            return new WorkerOptions(this);
        }
    }
}

package dev.crossfade.redis;

import dev.crossfade.api.codec.JobCodec;
import java.util.Locale;

/**
 * The generation of Ruby Sidekiq a fleet runs, which decides how Crossfade writes what Ruby reads back: Sidekiq 8
 * writes a job's {@code created_at}, {@code enqueued_at}, {@code failed_at} and {@code retried_at} as integer epoch
 * milliseconds, Sidekiq 6 and 7 as float epoch seconds (sorted-set scores and {@code at} are float seconds in all
 * three). Both forms are always read.
 */
public enum SidekiqVersion {
    /**
     * Look at the Ruby processes registered in Redis ({@code processes}) and write as the oldest of them does; while
     * none is registered, write float seconds, which every generation reads (or what the configured codec says).
     */
    DETECT(0),
    V6(6),
    V7(7),
    V8(8);

    private final int major;

    SidekiqVersion(int major) {
        this.major = major;
    }

    /** 6, 7 or 8; 0 for {@link #DETECT}. */
    public int major() {
        return major;
    }

    /** How this generation writes a job's timestamps. @throws IllegalStateException for {@link #DETECT} */
    public JobCodec.Timestamps timestamps() {
        return switch (this) {
            case V8 -> JobCodec.Timestamps.MILLISECONDS;
            case V6, V7 -> JobCodec.Timestamps.FLOAT_SECONDS;
            case DETECT -> throw new IllegalStateException("DETECT has no timestamp format of its own");
        };
    }

    /** The generation of a major version: 6 or lower is {@link #V6}, 8 or higher {@link #V8}. */
    public static SidekiqVersion ofMajor(int major) {
        return major <= 6 ? V6 : major == 7 ? V7 : V8;
    }

    /**
     * {@code "6"}, {@code "7"}, {@code "8"} or {@code "detect"} (case-insensitive).
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static SidekiqVersion parse(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
        return switch (v) {
            case "6" -> V6;
            case "7" -> V7;
            case "8" -> V8;
            case "detect" -> DETECT;
            default ->
                throw new IllegalArgumentException("Sidekiq version must be 6, 7, 8 or detect, got '" + value + "'");
        };
    }

    @Override
    public String toString() {
        return this == DETECT ? "detect" : Integer.toString(major);
    }
}

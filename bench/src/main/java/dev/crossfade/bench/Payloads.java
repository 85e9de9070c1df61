package dev.crossfade.bench;

import dev.crossfade.api.Job;
import dev.crossfade.api.codec.JobCodec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The benchmark jobs: class {@code NoopJob}, args {@code [n, "xxx…"]}, with the filler sized so the encoded Sidekiq JSON
 * (jid, timestamps, retry and all) is about {@link #TARGET_BYTES} bytes, the record size given to Kafka's
 * ProducerPerformance and the value size given to redis-benchmark.
 */
final class Payloads {
    static final String CLASS = "NoopJob";
    static final int TARGET_BYTES = 200;

    private final String filler;

    Payloads() {
        JobCodec codec = JobCodec.defaults();
        Job sample = Job.builder(CLASS)
                .args(1_000_000L, "")
                .enqueuedAt(Instant.now())
                .build();
        int size = codec.encode(sample).length;
        this.filler = "x".repeat(Math.max(0, TARGET_BYTES - size));
    }

    String filler() {
        return filler;
    }

    Job job(long n) {
        return job(CLASS, n);
    }

    /** The benchmark job under another class name (same args and filler). */
    Job job(String className, long n) {
        return Job.builder(className).args(n, filler).build();
    }

    List<Job> batch(long from, int count) {
        return batch(CLASS, from, count);
    }

    List<Job> batch(String className, long from, int count) {
        List<Job> jobs = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            jobs.add(job(className, from + i));
        }
        return jobs;
    }

    /** The encoded size of a job as enqueued, for the notes. */
    int encodedSize() {
        return JobCodec.defaults()
                .encode(job(1_000_000L).toBuilder().enqueuedAt(Instant.now()).build())
                .length;
    }
}

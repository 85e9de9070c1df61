package dev.crossfade.bench;

import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.LocalRedis;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * What every bench shares: the run's settings, its scratch directory, and the servers the harness started itself (a
 * fresh redis-server and a fresh single-node Kafka broker, never anything already running on the machine).
 */
final class BenchContext {
    /** The steady rate of the latency figures. */
    static final int LATENCY_RATE = 2_000;

    private final int jobs;
    private final int rounds;
    private final int latencySeconds;
    private final Path work;
    private final Payloads payloads = new Payloads();
    private LocalRedis redis;
    private LocalKafka kafka;

    BenchContext(int jobs, int rounds, int latencySeconds, Path work) {
        this.jobs = jobs;
        this.rounds = rounds;
        this.latencySeconds = latencySeconds;
        this.work = work;
    }

    int jobs() {
        return jobs;
    }

    int rounds() {
        return rounds;
    }

    int latencySeconds() {
        return latencySeconds;
    }

    Path work() {
        return work;
    }

    Payloads payloads() {
        return payloads;
    }

    /** The run's redis-server, started on first use: no persistence, {@code noeviction} as Sidekiq requires. */
    synchronized LocalRedis redis() {
        if (redis == null) {
            redis = LocalRedis.builder().maxmemoryPolicy("noeviction").build().start();
        }
        return redis;
    }

    /**
     * The broker's JVM options: those of Kafka's start scripts (G1), as brokers are run. The serial collector of
     * {@code LocalKafka}'s defaults (chosen for tests on small machines) stops the broker for 15 to 55 ms every second
     * or two at the latency figure's load, which decided that figure's p99 rather than anything of Crossfade's.
     */
    static final List<String> BROKER_JVM_OPTIONS = LocalKafka.KAFKA_SCRIPT_JVM_OPTIONS;

    /** The run's Kafka broker, started on first use, 6 partitions per topic (the backend's default). */
    synchronized LocalKafka kafka() {
        if (kafka == null) {
            kafka = LocalKafka.builder()
                    .partitions(6)
                    .jvmOptions(BROKER_JVM_OPTIONS.toArray(String[]::new))
                    .build()
                    .start();
        }
        return kafka;
    }

    /** A resource of this module copied to the scratch directory (Ruby scripts run from there). */
    Path resource(String name) {
        Path target = work.resolve(name);
        if (!Files.exists(target)) {
            try (InputStream in = BenchContext.class.getResourceAsStream("/" + name)) {
                if (in == null) {
                    throw new IllegalStateException("missing resource " + name);
                }
                Files.createDirectories(target.getParent());
                Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return target;
    }

    synchronized void close() {
        if (kafka != null) {
            kafka.close();
        }
        if (redis != null) {
            redis.close();
        }
    }
}

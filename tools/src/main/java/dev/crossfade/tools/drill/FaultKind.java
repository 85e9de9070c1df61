package dev.crossfade.tools.drill;

import java.util.Locale;

/** The faults the drill injects, in the order the schedule cycles through them. */
public enum FaultKind {
    /** SIGKILL of a worker process mid-batch, then a replacement is started. */
    WORKER_SIGKILL("worker SIGKILL"),
    /** SIGSTOP of the Kafka broker for a few seconds, then SIGCONT: a hang, not a crash. */
    BROKER_PAUSE("broker SIGSTOP/SIGCONT"),
    /** Redis SIGKILLed and restarted on its append-only file (fsync always). */
    REDIS_RESTART("Redis kill+restart"),
    /** The Kafka broker stopped (alternately SIGTERM and SIGKILL) and restarted on the same data. */
    BROKER_RESTART("broker stop/kill+restart"),
    /** An extra worker process joins the consumer group and later leaves with SIGTERM. */
    CONSUMER_JOIN_LEAVE("consumer join+leave"),
    /** Raw bytes that are not a job, pushed onto the Redis queue and produced to the Kafka topic. */
    MALFORMED_PAYLOAD("malformed payload"),
    /** A job whose worker always throws and a job of an unregistered class, enqueued through the router. */
    POISON_JOB("poison job"),
    /** The flags file replaced by garbage, then restored. */
    FLAGS_GARBAGE("flags file garbage"),
    /** Redis frozen (SIGSTOP) for longer than the workers' heartbeat TTL, a worker SIGKILLed meanwhile, then SIGCONT:
     * no live process may be judged dead, and the killed one's in-progress jobs must be recovered. */
    REDIS_OUTAGE("Redis outage > TTL"),
    /** A job that halts its worker's JVM (Runtime.halt), put on the Redis queue: it takes down workers until the
     * backend's poison-pill limit sends it to the dead set. */
    HALT_POISON("JVM-halting job");

    private final String label;

    FaultKind(String label) {
        this.label = label;
    }

    /** Human-readable name for the report. */
    public String label() {
        return label;
    }

    /** Parses {@code worker-sigkill} or {@code WORKER_SIGKILL}. */
    public static FaultKind parse(String s) {
        return valueOf(s.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    }
}

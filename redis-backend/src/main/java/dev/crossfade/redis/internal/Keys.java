package dev.crossfade.redis.internal;

import java.nio.charset.StandardCharsets;

/**
 * Every Redis key the backend touches, in one place, so the Sidekiq layout (which Ruby processes read and write too)
 * cannot drift between the client, the fetcher and the poller. All names get the configured namespace prefix.
 *
 * <p>Sidekiq's own keys: {@code queues}, {@code queue:<q>}, {@code schedule}, {@code retry}, {@code dead},
 * {@code processes}, {@code <identity>}, {@code <identity>:workers} (6.x) / {@code <identity>:work} (7.x),
 * {@code stat:*}. Crossfade's additions live under {@code crossfade:} so Ruby never mistakes them for queues.
 */
public final class Keys {
    private final String prefix;

    public Keys(String prefix) {
        this.prefix = prefix;
    }

    public String prefix() {
        return prefix;
    }

    public String queues() {
        return prefix + "queues";
    }

    /**
     * The queue that holds the shadow copies of {@code queue}'s jobs. Ruby Sidekiq fetches only the queues it is told
     * to, so it never runs them, and the name is kept out of the {@code queues} set so Sidekiq Web does not list it;
     * Crossfade workers of {@code queue} fetch it too.
     */
    public static String shadowQueue(String queue) {
        return queue + SHADOW_SUFFIX;
    }

    /** Whether {@code queue} holds shadow copies. */
    public static boolean isShadowQueue(String queue) {
        return queue.endsWith(SHADOW_SUFFIX);
    }

    private static final String SHADOW_SUFFIX = ".crossfade-shadow";

    public String queue(String queue) {
        return prefix + "queue:" + queue;
    }

    public String schedule() {
        return prefix + "schedule";
    }

    public String retry() {
        return prefix + "retry";
    }

    public String dead() {
        return prefix + "dead";
    }

    public String processes() {
        return prefix + "processes";
    }

    public String process(String identity) {
        return prefix + identity;
    }

    /** Sidekiq 6.x busy-jobs hash. */
    public String workers(String identity) {
        return prefix + identity + ":workers";
    }

    /** Sidekiq 7.x busy-jobs hash. */
    public String work(String identity) {
        return prefix + identity + ":work";
    }

    /** Where Sidekiq's Web UI pushes TSTP/TERM for a process. */
    public String signals(String identity) {
        return prefix + identity + "-signals";
    }

    public String stat(String name) {
        return prefix + "stat:" + name;
    }

    /** The in-progress list of one worker process for one queue (Sidekiq Pro calls these private queues). */
    public String inProgress(String identity, String queue) {
        return inProgressPrefix() + identity + "|" + queue;
    }

    /** What every in-progress list's name starts with; the owner and queue follow, separated by {@code |}. */
    public String inProgressPrefix() {
        return prefix + "crossfade:inprogress:";
    }

    /**
     * ZSET identity → Redis server time (epoch seconds) of its last heartbeat; who may hold in-progress jobs, and since
     * when. Server time, so that a JVM with a wrong clock neither looks dead nor judges others dead.
     */
    public String beats() {
        return prefix + "crossfade:beats";
    }

    /** Left by a peer that recovered a process's lists, so the process learns it at its next beat. */
    public String recovered(String identity) {
        return prefix + "crossfade:recovered:" + identity;
    }

    /** A worker process's liveness key, set on every heartbeat to expire after the recovery timeout. */
    public String alive(String identity) {
        return prefix + "crossfade:alive:" + identity;
    }

    /** HASH identity → JSON array of the queues it fetches, so a dead process's in-progress lists can be found. */
    public String fetchQueues() {
        return prefix + "crossfade:fetch-queues";
    }

    /** HASH jid → how many times in a row the job was recovered from a dead process (reset when an attempt ends). */
    public String recoveries() {
        return prefix + "crossfade:recoveries";
    }

    /** LIST of jobs recovered too often, on their way to the dead set. */
    public String poison() {
        return prefix + "crossfade:poison";
    }

    /**
     * LIST of a queue's pending jobs on their way to another backend ({@code crossfade transfer}): a job is here only
     * between leaving {@code queue:<q>} and the target's ack, and a crashed transfer's leftovers are sent first by the
     * next one.
     */
    public String transferPending(String queue) {
        return prefix + "crossfade:transfer:" + queue + ":pending";
    }

    /** ZSET of a queue's scheduled or retry entries ({@code set} is schedule or retry) on their way to another backend. */
    public String transferStaged(String queue, String set) {
        return prefix + "crossfade:transfer:" + queue + ":" + set;
    }

    /** A score or time as Redis and Ruby both read it: plain decimal, never Java's {@code 1.7E9} notation. */
    public static String num(double d) {
        return java.math.BigDecimal.valueOf(d).toPlainString();
    }

    public static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}

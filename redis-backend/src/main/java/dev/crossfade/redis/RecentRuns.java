package dev.crossfade.redis;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * Runs that finished without a claim in the last {@code window}, by a 64-bit hash of their jid: what
 * {@link RedisRunGuard} needs when a mark arrives for a jid that already ran here. Kept in one-second buckets of
 * primitive arrays, so remembering a run costs an array write and a few bytes, not a map entry or a Redis key.
 */
final class RecentRuns {
    /** A remembered run. */
    record Run(int attempt, boolean succeeded) {}

    private static final class Bucket {
        final long second;
        long[] hashes = new long[256];
        int[] outcomes = new int[256];
        int size;

        Bucket(long second) {
            this.second = second;
        }

        void add(long hash, int outcome) {
            if (size == hashes.length) {
                hashes = java.util.Arrays.copyOf(hashes, size * 2);
                outcomes = java.util.Arrays.copyOf(outcomes, size * 2);
            }
            hashes[size] = hash;
            outcomes[size] = outcome;
            size++;
        }
    }

    private final long windowSeconds;
    private final ArrayDeque<Bucket> buckets = new ArrayDeque<>();

    RecentRuns(Duration window) {
        this.windowSeconds = Math.max(1, window.toSeconds());
    }

    synchronized void record(String jid, int attempt, boolean succeeded) {
        long now = System.nanoTime() / 1_000_000_000L;
        Bucket last = buckets.peekLast();
        if (last == null || last.second != now) {
            last = new Bucket(now);
            buckets.addLast(last);
            while (buckets.peekFirst().second < now - windowSeconds) {
                buckets.removeFirst();
            }
        }
        last.add(hash(jid), attempt << 1 | (succeeded ? 1 : 0));
    }

    /** The latest remembered run of {@code jid}, or null. */
    synchronized Run find(String jid) {
        long h = hash(jid);
        long oldest = System.nanoTime() / 1_000_000_000L - windowSeconds;
        for (Iterator<Bucket> it = buckets.descendingIterator(); it.hasNext(); ) {
            Bucket b = it.next();
            if (b.second < oldest) {
                break;
            }
            for (int i = b.size - 1; i >= 0; i--) {
                if (b.hashes[i] == h) {
                    return new Run(b.outcomes[i] >>> 1, (b.outcomes[i] & 1) == 1);
                }
            }
        }
        return null;
    }

    /** FNV-1a, 64 bits: jids are random, and a collision among a window's runs is about one in 10^13 per lookup. */
    static long hash(String jid) {
        long h = 0xcbf29ce484222325L;
        for (byte b : jid.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }
}

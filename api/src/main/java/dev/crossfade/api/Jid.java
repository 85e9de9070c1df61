package dev.crossfade.api;

import java.security.SecureRandom;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Job ids in Sidekiq's format: 24 lower-case hex characters from 12 random bytes. Sidekiq's Web UI, its retry and
 * dead sets and our ledgers all key on the jid, so the format is part of the wire contract.
 */
public final class Jid {
    private static final char[] HEX = "0123456789abcdef".toCharArray();
    // Seeded once from the OS; per-call SecureRandom would dominate enqueue cost.
    private static final long SALT = new SecureRandom().nextLong();

    private Jid() {}

    /** A fresh random jid. */
    public static String next() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        long a = r.nextLong() ^ SALT;
        int b = r.nextInt();
        char[] out = new char[24];
        for (int i = 0; i < 16; i++) {
            out[i] = HEX[(int) (a >>> (60 - 4 * i)) & 0xf];
        }
        for (int i = 0; i < 8; i++) {
            out[16 + i] = HEX[(b >>> (28 - 4 * i)) & 0xf];
        }
        return new String(out);
    }

    /** Whether the value has the Sidekiq jid shape (jobs from other producers may still carry other ids). */
    public static boolean isWellFormed(String jid) {
        if (jid == null || jid.length() != 24) {
            return false;
        }
        for (int i = 0; i < 24; i++) {
            char c = jid.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return false;
            }
        }
        return true;
    }
}

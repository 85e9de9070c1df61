package dev.crossfade.api.internal;

import dev.crossfade.api.Job;

/**
 * Access to {@link Job}'s lazily decoded form from the execution core, without a public factory for it. {@code Job}
 * installs the one instance when its class is initialised. Not part of the public API.
 */
public abstract class JobAccess {
    private static volatile JobAccess instance;

    protected JobAccess() {}

    /** Called once, by {@code Job}'s static initialiser. */
    public static void install(JobAccess access) {
        instance = access;
    }

    public static JobAccess get() {
        JobAccess a = instance;
        if (a == null) {
            try {
                Class.forName(Job.class.getName(), true, Job.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
            a = instance;
        }
        return a;
    }

    /** A job whose class, jid, attempt and shadow flag are the body's, and whose other fields the body decodes. */
    public abstract Job lazy(LazyBody body);

    /** The job's undecoded body, or null for a job that was built or decoded whole. */
    public abstract LazyBody body(Job job);
}

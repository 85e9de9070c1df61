package dev.crossfade.tck;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What the contract suite needs from a backend under test, scoped to one test's namespace (a Redis key prefix, a
 * Kafka topic prefix) so tests never see each other's jobs.
 */
public interface BackendFixture extends AutoCloseable {
    /** The backend whose jobs must report it in their context. */
    Backend backend();

    /** The producer side. */
    JobQueue queue();

    /**
     * A worker process over {@code queues}, not yet started. Its scheduled-job and retry pollers should run often
     * (every ~100 ms) so the suite stays fast.
     */
    WorkerRuntime workers(ExecutionCore core, Set<String> queues, int concurrency);

    /** Writes raw bytes where a job on {@code queue} would go, bypassing the codec, as a broken producer would. */
    void pushRaw(String queue, byte[] payload);

    /** The dead set or DLQ contents, decoded. */
    List<Job> dead();

    /**
     * The server this fixture's backend talks to, when the suite may freeze it (a local process it can SIGSTOP);
     * empty otherwise (an in-memory backend, a container or a server named by the environment).
     */
    default Optional<Freezable> server() {
        return Optional.empty();
    }

    /** A server that can be frozen (connections stay open, nothing answers, like a long pause) and thawed. */
    interface Freezable {
        void pause();

        void resume();

        /** A server frozen and thawed by the two actions (a local server's own pause and resume). */
        static Freezable of(Runnable pause, Runnable resume) {
            return new Freezable() {
                @Override
                public void pause() {
                    pause.run();
                }

                @Override
                public void resume() {
                    resume.run();
                }
            };
        }
    }

    /** Releases what the fixture opened (not the shared servers). */
    @Override
    void close();
}

package dev.crossfade.tck;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.testing.InMemoryBackend;
import java.util.List;
import java.util.Set;

/** The contract suite on the in-memory backend, which users' own tests rely on behaving like the real ones. */
class InMemoryContractTest extends JobQueueContract {
    @Override
    protected BackendFixture createFixture(String namespace) {
        InMemoryBackend backend = InMemoryBackend.fake();
        return new BackendFixture() {
            @Override
            public Backend backend() {
                return Backend.MEMORY;
            }

            @Override
            public JobQueue queue() {
                return backend.queue();
            }

            @Override
            public WorkerRuntime workers(ExecutionCore core, Set<String> queues, int concurrency) {
                return backend.workers(core, queues, concurrency);
            }

            @Override
            public void pushRaw(String queue, byte[] payload) {
                backend.pushRaw(queue, payload);
            }

            @Override
            public List<Job> dead() {
                return backend.dead();
            }

            @Override
            public void close() {
                backend.clear();
            }
        };
    }
}

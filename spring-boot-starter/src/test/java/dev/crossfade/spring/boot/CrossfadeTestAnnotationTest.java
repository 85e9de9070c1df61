package dev.crossfade.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.testing.InMemoryBackend;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.spring.boot.testapp.Ledger;
import dev.crossfade.spring.boot.testapp.TestApp;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.ApplicationContext;

/** {@link CrossfadeTest} in the test application: jobs stay in memory and run on the bean worker when drained. */
@SpringBootTest(classes = TestApp.class, properties = "spring.main.web-application-type=none")
@CrossfadeTest
class CrossfadeTestAnnotationTest {

    @Autowired
    ApplicationContext context;

    @Autowired
    JobQueue queue;

    @Autowired
    InMemoryBackend backend;

    @Autowired
    ExecutionCore core;

    @Autowired
    Ledger ledger;

    @Test
    void enqueuedJobWaitsInMemoryAndRunsOnTheBeanWorkerWhenDrained() {
        String jid = queue.enqueue(Job.of("HardWorker"));

        assertThat(backend.jobs("default")).extracting(Job::jid).containsExactly(jid);
        assertThat(ledger.runs(jid)).isZero();

        assertThat(backend.drain(core)).isEqualTo(1);
        assertThat(ledger.runs(jid)).isEqualTo(1);
        assertThat(backend.jobs("default")).isEmpty();
    }

    @Test
    void noRealBackendFlagsOrWorkersAreCreated() {
        assertThat(context.getBeanProvider(RedisBackend.class).getIfAvailable()).isNull();
        assertThat(context.getBeanProvider(RoutingFlags.class).getIfAvailable()).isNull();
        assertThat(context.getBeanNamesForType(WorkerLifecycle.class)).isEmpty();
    }
}

package dev.crossfade.api.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class InMemoryBackendTest {

    @Test
    void fakeModeRecordsJobsUntilDrained() {
        InMemoryBackend fake = InMemoryBackend.fake();
        fake.queue()
                .enqueue(Job.builder("Mailer").args("welcome", 42).queue("mail").build());
        fake.queue().enqueueAt(Job.of("Mailer", "later"), Instant.now().plusSeconds(3600));

        assertEquals(1, fake.jobs("mail").size());
        assertEquals("welcome", fake.jobs("mail").get(0).args().get(0).textValue());
        assertEquals(1, fake.scheduled().size());

        List<Object> sent = new ArrayList<>();
        WorkerRegistry reg = WorkerRegistry.builder()
                .register("Mailer", (a, c) -> sent.add(a.get(0).asText()))
                .build();
        assertEquals(1, fake.drain(ExecutionCore.builder(reg).build()));
        assertEquals(List.of("welcome"), sent);
        assertTrue(fake.jobs("mail").isEmpty());
        assertEquals(1, fake.scheduled().size(), "a job due in an hour stays scheduled");
    }

    @Test
    void inlineModeRunsAtOnceAndSurfacesFailures() {
        List<Object> ran = new ArrayList<>();
        WorkerRegistry reg = WorkerRegistry.builder()
                .register("Ok", (a, c) -> ran.add(a.get(0).asInt()))
                .register("Fails", (a, c) -> {
                    throw new IllegalStateException("nope");
                })
                .build();
        InMemoryBackend inline = InMemoryBackend.inline(reg);
        inline.queue().enqueue(Job.of("Ok", 7));
        assertEquals(List.of(7), ran);
        InlineJobFailedException e = assertThrows(
                InlineJobFailedException.class, () -> inline.queue().enqueue(Job.of("Fails")));
        assertEquals("nope", e.getCause().getMessage());
        assertThrows(InlineJobFailedException.class, () -> inline.queue().enqueue(Job.of("Unregistered")));
    }
}

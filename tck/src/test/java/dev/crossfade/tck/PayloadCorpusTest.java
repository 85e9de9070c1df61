package dev.crossfade.tck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Backend;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.api.worker.WorkerRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The execution core gives every corpus payload exactly one outcome, and never throws. */
class PayloadCorpusTest {
    @Test
    void everyPayloadRunsOrIsDeadWithAReason() {
        AtomicInteger ran = new AtomicInteger();
        ExecutionCore core = ExecutionCore.builder(WorkerRegistry.builder()
                        .register("FuzzJob", (args, ctx) -> {
                            args.raw();
                            ran.incrementAndGet();
                        })
                        .build())
                .build();
        List<PayloadCorpus.Case> cases = PayloadCorpus.cases("FuzzJob", "fuzz", true);
        long dead =
                cases.stream().filter(c -> c.fate() == PayloadCorpus.Fate.DEAD).count();
        assertTrue(cases.size() >= 300, "corpus size " + cases.size());
        assertTrue(dead > 200 && dead < cases.size(), dead + " of " + cases.size() + " expected dead");

        List<String> wrong = new ArrayList<>();
        int expectedRuns = 0;
        for (PayloadCorpus.Case c : cases) {
            Outcome o = core.execute(c.payload(), Backend.MEMORY, "fuzz");
            boolean ok = switch (c.fate()) {
                case RUNS -> o instanceof Outcome.Succeeded s && s.ran();
                case SHADOW -> o instanceof Outcome.Succeeded s && !s.ran();
                case DEAD ->
                    o instanceof Outcome.Dead d
                            && d.job().errorMessage() != null
                            && !d.job().errorMessage().isBlank();
                case RETRIED -> o instanceof Outcome.Retry;
                case DISCARDED -> o instanceof Outcome.Discarded;
            };
            if (!ok) {
                wrong.add(c.name() + " -> " + o);
            }
            expectedRuns += c.runs() ? 1 : 0;
        }
        assertEquals(List.of(), wrong);
        assertEquals(expectedRuns, ran.get());
    }
}

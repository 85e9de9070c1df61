package dev.crossfade.spring.boot.testapp;

import dev.crossfade.api.worker.JobArgs;
import dev.crossfade.api.worker.JobContext;
import dev.crossfade.api.worker.Worker;
import dev.crossfade.spring.boot.CrossfadeWorker;
import org.springframework.stereotype.Component;

/** Sleeps as many milliseconds as its first argument says (none: no sleep), then records the run. */
@Component
@CrossfadeWorker(value = "HardWorker", maxRetries = 3)
public class HardWorker implements Worker {
    private final Ledger ledger;

    public HardWorker(Ledger ledger) {
        this.ledger = ledger;
    }

    @Override
    public void perform(JobArgs args, JobContext context) throws Exception {
        if (args.size() > 0) {
            Thread.sleep(args.get(0, Long.class));
        }
        ledger.finished(context.jid(), context.backend());
    }
}

package dev.crossfade.example.boot;

import dev.crossfade.api.worker.JobArgs;
import dev.crossfade.api.worker.JobContext;
import dev.crossfade.api.worker.Worker;
import dev.crossfade.spring.boot.CrossfadeWorker;
import org.springframework.stereotype.Component;

/** Sends the receipt of an order: args {@code [orderId, email]}. */
@Component
@CrossfadeWorker(SendReceiptWorker.JOB)
public class SendReceiptWorker implements Worker {
    /** The job class name, as Ruby's Sidekiq would name the worker class. */
    public static final String JOB = "SendReceipt";

    private final Outbox outbox;

    public SendReceiptWorker(Outbox outbox) {
        this.outbox = outbox;
    }

    @Override
    public void perform(JobArgs args, JobContext context) {
        if (context.shadow()) {
            return; // a shadow copy must not mail the customer twice
        }
        outbox.send(new Outbox.Receipt(
                args.get(0, String.class), args.get(1, String.class), context.jid(), context.backend()));
    }
}

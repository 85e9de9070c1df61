package dev.crossfade.example.boot;

import dev.crossfade.api.worker.JobArgs;
import dev.crossfade.api.worker.JobContext;
import dev.crossfade.api.worker.Worker;
import dev.crossfade.spring.boot.CrossfadeWorker;
import org.springframework.stereotype.Component;

/** Reserves stock for an order: args {@code [orderId, sku, quantity]}. Retried up to 5 times, then dead. */
@Component
@CrossfadeWorker(value = ReserveStockWorker.JOB, maxRetries = 5)
public class ReserveStockWorker implements Worker {
    /** The job class name, as Ruby's Sidekiq would name the worker class. */
    public static final String JOB = "ReserveStock";

    private final Stock stock;

    public ReserveStockWorker(Stock stock) {
        this.stock = stock;
    }

    @Override
    public void perform(JobArgs args, JobContext context) {
        if (context.shadow()) {
            return; // a shadow copy must not reserve twice
        }
        stock.reserve(args.get(1, String.class), args.get(2, Integer.class));
    }
}

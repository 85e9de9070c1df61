package dev.crossfade.api.worker;

/**
 * The worker contract: the same code runs unchanged whether Redis or Kafka delivered the job.
 *
 * <p>A worker is registered under a job class name in a {@link WorkerRegistry}; only registered workers ever run.
 * Throwing any exception fails the attempt and hands the job to the retry policy; returning normally completes it. A
 * worker that wants its result compared in shadow mode records it with {@link JobContext#result(Object)}.
 *
 * <pre>{@code
 * Worker hard = (args, ctx) -> {
 *     Order order = args.get(0, Order.class);
 *     ctx.result(billing.charge(order));
 * };
 * }</pre>
 */
@FunctionalInterface
public interface Worker {
    /**
     * Performs one job.
     *
     * @param args    the job's positional args, with Jackson binding to typed values
     * @param context jid, queue, attempt, delivering backend and whether this is a shadow copy
     * @throws Exception to fail this attempt (the job is retried or goes to the dead set / DLQ)
     */
    void perform(JobArgs args, JobContext context) throws Exception;
}

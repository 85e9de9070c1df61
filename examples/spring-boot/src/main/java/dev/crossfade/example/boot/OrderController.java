package dev.crossfade.example.boot;

import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code POST /orders} enqueues the order's two jobs and answers 202 with their jids. The jobs are accepted by Redis
 * or Kafka, whichever the routing flags pick, before the answer; a Kafka that is down or slow sends them to Redis.
 */
@RestController
public class OrderController {
    private final JobQueue jobs;

    public OrderController(JobQueue jobs) {
        this.jobs = jobs;
    }

    /** An order as posted: {@code {"orderId": "o-1", "sku": "tea", "quantity": 2, "email": "a@example.com"}}. */
    public record Order(String orderId, String sku, int quantity, String email) {}

    /** The jids of the enqueued jobs, to look them up in Sidekiq's web UI or {@code crossfade status}. */
    public record Accepted(String orderId, List<String> jids) {}

    @PostMapping("/orders")
    @ResponseStatus(HttpStatus.ACCEPTED)
    public Accepted place(@RequestBody Order order) {
        // The order id is the routing key: both jobs of one order land on the same Kafka partition.
        List<String> jids = jobs.enqueueAll(List.of(
                Job.builder(ReserveStockWorker.JOB)
                        .args(order.orderId(), order.sku(), order.quantity())
                        .routingKey(order.orderId())
                        .build(),
                Job.builder(SendReceiptWorker.JOB)
                        .args(order.orderId(), order.email())
                        .routingKey(order.orderId())
                        .build()));
        return new Accepted(order.orderId(), jids);
    }
}

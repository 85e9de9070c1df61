package dev.crossfade.example.boot;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * A shop that takes orders over HTTP and does the slow parts in background jobs: {@link OrderController} enqueues
 * through the starter's {@link dev.crossfade.api.JobQueue} (the router between Redis and Kafka), and two
 * {@link dev.crossfade.spring.boot.CrossfadeWorker} beans run the jobs, {@link ReserveStockWorker} and
 * {@link SendReceiptWorker}.
 */
@SpringBootApplication
public class ExampleApplication {

    public static void main(String[] args) {
        SpringApplication.run(ExampleApplication.class, args);
    }
}

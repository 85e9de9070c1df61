package dev.crossfade.example.boot;

import dev.crossfade.devservices.DevServices;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import org.springframework.boot.SpringApplication;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The example against the dev services: starts a local Redis and Kafka broker (or uses those named by
 * {@code CROSSFADE_REDIS_URL} / {@code CROSSFADE_KAFKA_BOOTSTRAP}), then the application pointed at them. Run by
 * {@code spring-boot:test-run} (README), so the dev services stay out of the application's own classpath.
 */
public final class DevExampleApplication {

    private DevExampleApplication() {}

    public static void main(String[] args) {
        RedisService redis = DevServices.redis();
        KafkaService kafka = DevServices.kafka();
        String[] withServices = new String[args.length + 2];
        withServices[0] = "--crossfade.redis.url=" + redis.uri();
        withServices[1] = "--crossfade.kafka.bootstrap=" + kafka.bootstrapServers();
        System.arraycopy(args, 0, withServices, 2, args.length);
        ConfigurableApplicationContext app = SpringApplication.from(ExampleApplication::main)
                .run(withServices)
                .getApplicationContext();
        // The servers stop only after the context has closed (a second close waits for the first), so the workers
        // can hand their unfinished jobs back to the queues on the way out.
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            app.close();
                            kafka.close();
                            redis.close();
                        },
                        "dev-services-stop"));
    }
}

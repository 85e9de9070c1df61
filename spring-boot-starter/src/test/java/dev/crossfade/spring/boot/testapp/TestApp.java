package dev.crossfade.spring.boot.testapp;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

/** An application as a user writes one: the starter on the classpath, one worker bean. */
@SpringBootApplication
public class TestApp {
    /** The application's registry (the actuator would make one): Crossfade's meters must land in it. */
    @Bean
    MeterRegistry meterRegistry() {
        return new SimpleMeterRegistry();
    }
}

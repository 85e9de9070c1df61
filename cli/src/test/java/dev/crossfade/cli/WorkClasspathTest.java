package dev.crossfade.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What {@code crossfade work} ships with: the module's runtime classpath, as the build writes it for the
 * {@code ./crossfade} script, holds Kafka's client but no broker, no Scala, no JUnit and no dev services. The demo
 * and the drill, which need them, are in crossfade-tools.
 */
class WorkClasspathTest {
    @Test
    void theWorkCommandCarriesNoBrokerScalaOrJUnit() throws IOException {
        String text = Files.readString(Path.of("target", "classpath.txt"), StandardCharsets.UTF_8)
                .strip();
        List<String> jars = Arrays.stream(text.split(File.pathSeparator))
                .map(p -> Path.of(p).getFileName().toString())
                .toList();
        assertTrue(jars.stream().anyMatch(j -> j.startsWith("kafka-clients-")), "the list is the runtime one: " + jars);
        assertTrue(jars.stream().anyMatch(j -> j.startsWith("crossfade-redis-backend-")), jars.toString());
        List<String> unwanted = jars.stream()
                .filter(j -> j.startsWith("kafka_2.13")
                        || j.startsWith("scala")
                        || j.startsWith("junit")
                        || j.startsWith("opentest4j")
                        || j.startsWith("crossfade-devservices")
                        || j.startsWith("crossfade-tck")
                        || j.startsWith("testcontainers")
                        || (j.startsWith("kafka") && !j.startsWith("kafka-clients-")))
                .toList();
        assertEquals(List.of(), unwanted, "crossfade work's classpath");
    }
}

package dev.crossfade.cli;

import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** Runs the command line in-process and captures what it prints. */
final class CliTestSupport {
    record Result(int exit, String out, String err) {
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(exit, out.toString(), err.toString());
    }

    /**
     * Writes {@code dir/crossfade.yml} for the shared test servers: Redis at {@code redisUrl} under the test's
     * namespace, Kafka with the namespace as topic prefix (2 partitions), the flags file {@code dir/flags.json}, and
     * {@code extra} YAML appended as is.
     */
    static Path config(Path dir, String redisUrl, KafkaService kafka, TestNamespace ns, String extra)
            throws IOException {
        Path c = dir.resolve("crossfade.yml");
        Files.writeString(c, """
                redis:
                  url: %s
                  namespace: "%s:"
                kafka:
                  bootstrap: %s
                  topic-prefix: %s
                  partitions: 2
                flags:
                  file: %s
                  start-wait: 2s
                """.formatted(redisUrl, ns.value(), kafka.bootstrapServers(), ns.value(), dir.resolve("flags.json"))
                + extra);
        return c;
    }

    private CliTestSupport() {
    }
}

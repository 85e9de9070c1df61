package dev.crossfade.cli;

import static org.junit.jupiter.api.Assertions.fail;

import dev.crossfade.config.Redaction;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Protocol;

/**
 * Runs the command line in-process and captures what it prints, log lines included. Every run is checked for the
 * suite's test secrets: the configurations this class writes carry them (a Redis ACL user's password in the URL), so
 * no command of the suite may print one.
 */
final class CliTestSupport {
    /** The Redis ACL user the suite's configurations log in as; its password is a test secret. */
    static final String REDIS_USER = "crossfade-test";

    static final String REDIS_PASSWORD = "s3cr3t-redis-pw";
    static final String SDK_KEY = "sdk-s3cr3t-key";
    static final String HTTP_TOKEN = "tok-s3cr3t-http";
    static final String JAAS_PASSWORD = "jaas-s3cr3t-pw";
    /** What must never appear in anything a command prints. */
    static final List<String> SECRETS = List.of(REDIS_PASSWORD, SDK_KEY, HTTP_TOKEN, JAAS_PASSWORD);

    private static final Set<URI> USERS_CREATED = ConcurrentHashMap.newKeySet();

    /**
     * @param log what went to System.err during the run (log lines, picocli's warnings), as the real process prints it
     */
    record Result(int exit, String out, String err, String log) {}

    static Result run(String... args) {
        return run(null, args);
    }

    /** Runs with {@code env} as the whole environment (null: the real one). */
    static synchronized Result run(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream realErr = System.err;
        // The same redacting stream Main.main installs, teeing into the test's own output.
        System.setErr(Redaction.stream(new PrintStream(new Tee(log, realErr), true, StandardCharsets.UTF_8)));
        if (env != null) {
            Options.environment = () -> env;
        }
        int exit;
        try {
            exit = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        } finally {
            System.err.flush();
            System.setErr(realErr);
            Options.environment = System::getenv;
        }
        Result r = new Result(exit, out.toString(), err.toString(), log.toString(StandardCharsets.UTF_8));
        assertNoSecret(String.join(" ", args), r.out() + r.err() + r.log());
        return r;
    }

    /** Fails when {@code output} contains a test secret. */
    static void assertNoSecret(String what, String output) {
        for (String s : SECRETS) {
            if (output.contains(s)) {
                int at = output.indexOf(s);
                fail(what + " printed the secret " + s + ": ..."
                        + output.substring(Math.max(0, at - 120), Math.min(output.length(), at + 60)) + "...");
            }
        }
    }

    /**
     * The service's Redis URL logging in as the suite's ACL user, whose password is a test secret (the user is
     * created on first use).
     */
    static String securedUrl(RedisService redis) {
        URI uri = redis.uri();
        if (uri.getUserInfo() != null) {
            return uri.toString();
        }
        if (USERS_CREATED.add(uri)) {
            try (Jedis j = new Jedis(uri)) {
                j.sendCommand(
                        Protocol.Command.ACL, "SETUSER", REDIS_USER, "on", ">" + REDIS_PASSWORD, "~*", "&*", "+@all");
            }
        }
        return withPassword(uri.toString());
    }

    /** {@code redis://host...} as {@code redis://crossfade-test:<secret>@host...}. */
    static String withPassword(String url) {
        return url.replaceFirst("://", "://" + REDIS_USER + ":" + REDIS_PASSWORD + "@");
    }

    /**
     * Writes {@code dir/crossfade.yml} for the shared test servers: Redis at {@code redisUrl} under the test's
     * namespace, Kafka with the namespace as topic prefix (2 partitions), the flags file {@code dir/flags.json}, and
     * {@code extra} YAML appended as is.
     */
    static Path config(Path dir, String redisUrl, KafkaService kafka, TestNamespace ns, String extra)
            throws IOException {
        Path c = dir.resolve("crossfade.yml");
        Files.writeString(
                c,
                """
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

    /** Copies what the run logs to the capture and on to the test's own stderr. */
    private static final class Tee extends OutputStream {
        private final OutputStream a;
        private final OutputStream b;

        Tee(OutputStream a, OutputStream b) {
            this.a = a;
            this.b = b;
        }

        @Override
        public void write(int x) throws IOException {
            a.write(x);
            b.write(x);
        }

        @Override
        public void write(byte[] bytes, int off, int len) throws IOException {
            a.write(bytes, off, len);
            b.write(bytes, off, len);
        }

        @Override
        public void flush() throws IOException {
            a.flush();
            b.flush();
        }
    }

    private CliTestSupport() {}
}

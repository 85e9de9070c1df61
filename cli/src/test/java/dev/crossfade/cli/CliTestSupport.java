package dev.crossfade.cli;

import static org.junit.jupiter.api.Assertions.fail;

import dev.crossfade.config.Redaction;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.LocalLaunchDarkly;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
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
     * Settings for the shared test servers: Redis at {@code redisUrl} under the test's namespace, Kafka at
     * {@code bootstrap} with the namespace as topic prefix (2 partitions), the flags file {@code dir/flags.json} read
     * with a 2 s start wait.
     */
    static Settings settings(Path dir, String redisUrl, String bootstrap, TestNamespace ns) {
        return settings(dir)
                .set("redis.url", redisUrl)
                .set("redis.namespace", ns.value() + ":")
                .set("kafka.bootstrap", bootstrap)
                .set("kafka.topic-prefix", ns.value())
                .set("kafka.partitions", 2)
                .set("flags.file", dir.resolve("flags.json"))
                .set("flags.start-wait", "2s");
    }

    /** As {@link #settings(Path, String, String, TestNamespace)}, on the shared Kafka service. */
    static Settings settings(Path dir, String redisUrl, KafkaService kafka, TestNamespace ns) {
        return settings(dir, redisUrl, kafka.bootstrapServers(), ns);
    }

    /** No settings yet, to be written in {@code dir}. */
    static Settings settings(Path dir) {
        return new Settings(dir);
    }

    /**
     * A YAML settings file built key by key ({@code section.key}, as in README's configuration table), so a test
     * names only the settings it is about. Values are written as YAML strings (lists as flow sequences of them), which
     * is how the configuration reads every value.
     */
    static final class Settings {
        private final Path dir;
        private final Map<String, Map<String, Object>> sections = new LinkedHashMap<>();

        private Settings(Path dir) {
            this.dir = dir;
        }

        /** Sets {@code key} ({@code section.name}); a {@link List} is written as a list. */
        Settings set(String key, Object value) {
            int dot = key.indexOf('.');
            sections.computeIfAbsent(key.substring(0, dot), k -> new LinkedHashMap<>())
                    .put(key.substring(dot + 1), value);
            return this;
        }

        /** Leaves {@code key} to its default. */
        Settings unset(String key) {
            int dot = key.indexOf('.');
            Map<String, Object> section = sections.get(key.substring(0, dot));
            if (section != null) {
                section.remove(key.substring(dot + 1));
            }
            return this;
        }

        /**
         * Flags from this local LaunchDarkly (SDK key {@link #SDK_KEY}, streaming, polling and events at its URI, 10 s
         * start wait) instead of the flags file.
         */
        Settings launchDarkly(LocalLaunchDarkly ld) {
            return unset("flags.file")
                    .set("flags.sdk-key", SDK_KEY)
                    .set("flags.stream-uri", ld.uri())
                    .set("flags.base-uri", ld.uri())
                    .set("flags.events-uri", ld.uri())
                    .set("flags.start-wait", "10s");
        }

        /** Writes {@code crossfade.yml} in the directory. */
        Path write() throws IOException {
            return write("crossfade.yml");
        }

        /** Writes the file {@code name} in the directory, replacing it. */
        Path write(String name) throws IOException {
            StringBuilder yaml = new StringBuilder();
            sections.forEach((section, values) -> {
                yaml.append(section).append(":\n");
                values.forEach((k, v) ->
                        yaml.append("  ").append(k).append(": ").append(yaml(v)).append('\n'));
            });
            return Files.writeString(dir.resolve(name), yaml);
        }

        private static String yaml(Object value) {
            if (value instanceof List<?> list) {
                return list.stream().map(Settings::yaml).collect(Collectors.joining(", ", "[", "]"));
            }
            return '"' + value.toString().replace("\\", "\\\\").replace("\"", "\\\"") + '"';
        }
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

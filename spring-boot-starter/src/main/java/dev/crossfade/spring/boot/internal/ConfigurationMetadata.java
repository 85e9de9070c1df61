package dev.crossfade.spring.boot.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.crossfade.config.Setting;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes Spring Boot's configuration metadata ({@code META-INF/spring-configuration-metadata.json}, what IDEs
 * complete {@code crossfade.*} keys from) from the settings table, at build time: the keys, types, defaults and
 * descriptions come from {@link Setting#ALL}, so they cannot drift from what the starter reads.
 */
public final class ConfigurationMetadata {
    /**
     * The command's keys the starter does not read: the application serves HTTP itself, its workers are beans, and a
     * guarded rollout is driven by {@code crossfade ramp} (with LaunchDarkly's REST API settings), which the
     * application only follows.
     */
    private static final List<String> COMMAND_ONLY = List.of(
            "http.",
            "workers.jars",
            "workers.providers",
            "ramp.",
            "flags.api-token",
            "flags.api-uri",
            "flags.project",
            "flags.environment");

    private ConfigurationMetadata() {}

    /** Whether a setting is the command's alone, so the starter neither reads nor lists it. */
    public static boolean commandOnly(String key) {
        return COMMAND_ONLY.stream().anyMatch(key::startsWith);
    }

    /** Writes the metadata to {@code args[0]}. */
    public static void main(String[] args) throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = json.createObjectNode();
        root.putArray("groups")
                .addObject()
                .put("name", "crossfade")
                .put("type", "dev.crossfade.config.CrossfadeConfig")
                .put("description", "Crossfade: the crossfade command's settings");
        ArrayNode properties = root.putArray("properties");
        ArrayNode hints = root.putArray("hints");
        for (Setting s : Setting.ALL) {
            if (commandOnly(s.key())) {
                continue;
            }
            ObjectNode p = properties
                    .addObject()
                    .put("name", "crossfade." + s.key())
                    .put("type", javaType(s.type()))
                    .put("description", s.description() + " (environment: " + s.env() + ")")
                    .put("sourceType", "dev.crossfade.config.CrossfadeConfig");
            if (s.defaultValue() != null && !s.secret()) {
                p.put("defaultValue", s.defaultValue());
            }
        }
        properties
                .addObject()
                .put("name", "crossfade.workers.enabled")
                .put("type", "java.lang.Boolean")
                .put("description", "Whether this application runs workers; false makes it enqueue-only.")
                .put("defaultValue", true);
        ObjectNode mode = hints.addObject().put("name", "crossfade.kafka.mode");
        mode.putArray("values")
                .addObject()
                .put("value", "group")
                .put("description", "consumer group, ordered per partition");
        ((ArrayNode) mode.get("values"))
                .addObject()
                .put("value", "share")
                .put("description", "share group (KIP-932 queues)");
        Path out = Path.of(args[0]);
        Files.createDirectories(out.getParent());
        json.writeValue(out.toFile(), root);
    }

    private static String javaType(Setting.Type type) {
        return switch (type) {
            case INT -> "java.lang.Integer";
            case BOOLEAN -> "java.lang.Boolean";
            case LIST -> "java.util.List<java.lang.String>";
            // Durations take the command's forms (500ms, 5s, 2m, 1h), not java.time.Duration's.
            default -> "java.lang.String";
        };
    }
}

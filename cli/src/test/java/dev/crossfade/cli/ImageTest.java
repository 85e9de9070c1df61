package dev.crossfade.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The container image Jib built (profile {@code image}): its layers hold everything the entrypoint names, it runs as
 * a non-root user, and its entrypoint starts the command. Without a container runtime, the test unpacks the
 * tarball's layers into a directory and runs the entrypoint's java command line there, with this JVM's java (the
 * image's base supplies its own) and the image's environment. Skipped when the profile did not build an image.
 */
class ImageTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void entrypointFromTheImageLayersRunsTheCommandAsNonRoot() throws Exception {
        String tarProperty = System.getProperty("crossfade.image.tar");
        assumeTrue(tarProperty != null, "no image built (run with -Pimage)");
        Path tar = Path.of(tarProperty);
        assertTrue(Files.isRegularFile(tar), "the image profile builds " + tar);

        Path image = Files.createDirectories(dir.resolve("image"));
        untar(tar, image, false);
        JsonNode manifest =
                JSON.readTree(image.resolve("manifest.json").toFile()).get(0);
        JsonNode config = JSON.readTree(
                        image.resolve(manifest.get("Config").asText()).toFile())
                .get("config");
        Path root = Files.createDirectories(dir.resolve("root"));
        for (JsonNode layer : manifest.get("Layers")) {
            untar(image.resolve(layer.asText()), root, true);
        }

        String user = config.path("User").asText();
        assertEquals("10001:10001", user, "a numeric non-root user");
        Map<String, String> env = new HashMap<>();
        for (JsonNode e : config.path("Env")) {
            String[] kv = e.asText().split("=", 2);
            env.put(kv[0], kv[1]);
        }
        assertEquals("0.0.0.0", env.get("CROSSFADE_HTTP_BIND"), "probes come from outside the container");

        List<String> command = new ArrayList<>();
        for (JsonNode arg : config.get("Entrypoint")) {
            command.add(arg.asText());
        }
        assertEquals("java", command.get(0), "entrypoint " + command);
        command.set(0, Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (int i = 1; i < command.size(); i++) {
            command.set(i, inRoot(command.get(i), root));
        }
        command.add("--help");

        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(root.toFile())
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("out.txt").toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("CROSSFADE_") || k.equals("LD_SDK_KEY"));
        env.forEach((k, v) -> {
            if (!k.equals("PATH") && !k.equals("JAVA_HOME")) {
                pb.environment().put(k, v);
            }
        });
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "crossfade --help finished");
        String out = Files.readString(dir.resolve("out.txt"));
        assertEquals(0, p.exitValue(), command + "\n" + out);
        assertTrue(out.startsWith("Usage: crossfade"), out);
        for (String sub : List.of("work", "status", "rollout", "kill-switch")) {
            assertTrue(out.contains(sub), "lists " + sub + ":\n" + out);
        }
    }

    /**
     * An entrypoint argument with the image's absolute paths moved under {@code root}: a classpath, or an
     * {@code @argfile} (Jib's classpath file for Java 9+ bases), whose paths are moved the same way.
     */
    private String inRoot(String arg, Path root) throws IOException {
        if (arg.startsWith("@/")) {
            Path argFile = root.resolve(arg.substring(2));
            Path moved = dir.resolve("argfile");
            Files.writeString(
                    moved,
                    inRoot(Files.readString(argFile, StandardCharsets.UTF_8).trim(), root));
            return "@" + moved;
        }
        if (!arg.startsWith("/app")) {
            return arg;
        }
        List<String> parts = new ArrayList<>();
        for (String part : arg.split(":")) {
            assertTrue(part.startsWith("/app/"), "classpath entry outside /app: " + part);
            parts.add(root + part);
        }
        return String.join(":", parts);
    }

    private static void untar(Path tar, Path into, boolean gzip) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("tar", gzip ? "-xzf" : "-xf", tar.toString(), "-C", into.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "tar " + tar + ": " + out);
    }
}

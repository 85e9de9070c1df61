package dev.crossfade.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/** The Kubernetes manifests in the repository's {@code deploy/}, read as the tests need them. */
final class DeployManifests {
    /** From the cli module's directory, where the tests run. */
    static final Path DIR = Path.of("..", "deploy");

    /** One document of a manifest file. */
    record Manifest(Path file, JsonNode node) {
        String kind() {
            return node.path("kind").asText();
        }

        String name() {
            return node.path("metadata").path("name").asText();
        }

        @Override
        public String toString() {
            return file.getFileName() + ": " + kind() + " " + name();
        }
    }

    private DeployManifests() {}

    /** Every document of every {@code deploy/*.yaml}. */
    static List<Manifest> all() {
        List<Manifest> all = new ArrayList<>();
        try (Stream<Path> files = Files.list(DIR)) {
            for (Path f :
                    files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                try (MappingIterator<JsonNode> docs =
                        new YAMLMapper().readerFor(JsonNode.class).readValues(f.toFile())) {
                    while (docs.hasNext()) {
                        JsonNode doc = docs.next();
                        if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                            all.add(new Manifest(f, doc));
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return all;
    }

    /** The one manifest of {@code kind} named {@code name}. */
    static JsonNode find(String kind, String name) {
        return all().stream()
                .filter(m -> m.kind().equals(kind) && m.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("deploy/ has no " + kind + " " + name))
                .node();
    }

    /** The HTTP paths of every probe of every container in deploy/ (liveness, readiness, startup). */
    static Set<String> probePaths() {
        Set<String> paths = new LinkedHashSet<>();
        for (Manifest m : all()) {
            for (JsonNode c :
                    m.node().path("spec").path("template").path("spec").path("containers")) {
                for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
                    JsonNode path = c.path(probe).path("httpGet").path("path");
                    if (!path.isMissingNode()) {
                        paths.add(path.asText());
                    }
                }
            }
        }
        return paths;
    }
}

package dev.crossfade.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.config.Setting;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The manifests in {@code deploy/} against Kubernetes' JSON schemas, and against the settings they depend on. The
 * schemas are the ones fabric8's Kubernetes model jars ship ({@code schema/validation-schema.json} of
 * {@code io.fabric8:kubernetes-model-apps}, {@code -batch} and {@code -policy}, from Maven Central), made strict as
 * kubectl's validation is: an unknown field fails, and so does a missing {@code apiVersion} or {@code kind}. That
 * each probe path answers is checked where {@code crossfade work} runs (BackendFaultsTest).
 */
class DeployManifestsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Which model jar has the schema of an apiVersion. */
    private static final Map<String, String> JAR_OF = Map.of(
            "v1",
            "kubernetes-model-apps",
            "apps/v1",
            "kubernetes-model-apps",
            "batch/v1",
            "kubernetes-model-batch",
            "policy/v1",
            "kubernetes-model-policy");

    @Test
    void everyManifestMatchesItsKubernetesSchema() {
        List<DeployManifests.Manifest> all = DeployManifests.all();
        assertTrue(all.size() >= 6, "manifests: " + all);
        Map<String, Schema> schemas = new HashMap<>();
        List<String> problems = new ArrayList<>();
        for (DeployManifests.Manifest m : all) {
            String apiVersion = m.node().path("apiVersion").asText();
            String key = apiVersion + "/" + m.kind();
            Schema schema = schemas.computeIfAbsent(key, k -> schema(apiVersion, m.kind()));
            schema.validate(m.node().toString(), InputFormat.JSON)
                    .forEach(e -> problems.add(m + ": " + e.getInstanceLocation() + " " + e.getMessage()));
        }
        assertEquals(List.of(), problems);
    }

    /** The schemas catch what they must: a misspelt field, a string where a number goes, a missing kind. */
    @Test
    void theStrictSchemasRejectBrokenManifests() {
        Schema deployment = schema("apps/v1", "Deployment");
        ObjectNode worker =
                DeployManifests.find("Deployment", "crossfade-worker").deepCopy();
        assertTrue(deployment.validate(worker.toString(), InputFormat.JSON).isEmpty());

        ObjectNode misspelt = worker.deepCopy();
        ObjectNode container = (ObjectNode) misspelt.at("/spec/template/spec/containers/0");
        container.set("readinesProbe", container.remove("readinessProbe"));
        assertFalse(deployment.validate(misspelt.toString(), InputFormat.JSON).isEmpty(), "misspelt field");

        ObjectNode wrongType = worker.deepCopy();
        ((ObjectNode) wrongType.at("/spec/template/spec")).put("terminationGracePeriodSeconds", "45s");
        assertFalse(deployment.validate(wrongType.toString(), InputFormat.JSON).isEmpty(), "string for a number");

        ObjectNode noKind = worker.deepCopy();
        noKind.remove("kind");
        assertFalse(deployment.validate(noKind.toString(), InputFormat.JSON).isEmpty(), "no kind");
    }

    @Test
    void workerSettingsHoldTogether() {
        JsonNode worker = DeployManifests.find("Deployment", "crossfade-worker");
        JsonNode config = DeployManifests.find("ConfigMap", "crossfade-config").path("data");
        JsonNode pod = worker.at("/spec/template/spec");
        JsonNode container = pod.at("/containers/0");

        // Every variable the ConfigMap sets is a setting of the command: a typo would be silently ignored.
        Set<String> known = Setting.ALL.stream().map(Setting::env).collect(Collectors.toSet());
        for (Iterator<String> it = config.fieldNames(); it.hasNext(); ) {
            String env = it.next();
            assertTrue(known.contains(env), env + " is not a crossfade setting");
        }
        Map<String, String> env = new HashMap<>();
        config.fields().forEachRemaining(e -> env.put(e.getKey(), e.getValue().asText()));
        CrossfadeConfig settings = CrossfadeConfig.load(null, env);

        // The grace period outlasts the shutdown timeout and closing the clients (Kafka: up to 20 s with its broker
        // down).
        long grace = pod.path("terminationGracePeriodSeconds").asLong();
        long shutdown = settings.duration("workers.shutdown-timeout").toSeconds();
        assertTrue(grace >= shutdown + 20, "terminationGracePeriodSeconds " + grace + " vs shutdown " + shutdown);

        // The probes' named port is the port crossfade listens on, and a probe outlasts a health check.
        JsonNode http = null;
        for (JsonNode p : container.path("ports")) {
            if (p.path("name").asText().equals("http")) {
                http = p;
            }
        }
        assertTrue(http != null, "a port named http");
        assertEquals(settings.integer("http.port"), http.path("containerPort").asInt());
        for (String probe : List.of("livenessProbe", "readinessProbe")) {
            assertEquals("http", container.at("/" + probe + "/httpGet/port").asText(), probe);
            assertTrue(
                    container.at("/" + probe + "/timeoutSeconds").asLong()
                            > settings.duration("health.timeout").toSeconds(),
                    probe + " outlasts health.timeout");
        }
        assertEquals(Set.of("/health/live", "/health/ready"), DeployManifests.probePaths());

        // Secrets come from the Secret, never from the ConfigMap or a literal value.
        for (String secret : List.of("CROSSFADE_REDIS_URL", "CROSSFADE_FLAGS_SDK_KEY")) {
            assertFalse(config.has(secret), secret + " in the ConfigMap");
            JsonNode ref = null;
            for (JsonNode e : container.path("env")) {
                if (e.path("name").asText().equals(secret)) {
                    ref = e;
                }
            }
            assertTrue(
                    ref != null
                            && ref.at("/valueFrom/secretKeyRef/name").asText().equals("crossfade-secrets"),
                    secret + " from the Secret");
        }

        // Runs as the image's non-root user; the budget and the Deployment select the same pods.
        assertTrue(pod.at("/securityContext/runAsNonRoot").asBoolean());
        assertEquals(10001, pod.at("/securityContext/runAsUser").asInt());
        JsonNode pdb = DeployManifests.find("PodDisruptionBudget", "crossfade-worker");
        assertEquals(worker.at("/spec/selector/matchLabels"), pdb.at("/spec/selector/matchLabels"));
        assertTrue(worker.path("spec").path("replicas").asInt()
                > pdb.at("/spec/maxUnavailable").asInt());
    }

    /**
     * The schema of one kind, from the model jar of its apiVersion, made strict: each object type with declared
     * properties takes no others, and the properties fabric8 marks {@code "required": true} (draft-03 style) are
     * required; int-or-string and quantity values take their wire forms.
     */
    private static Schema schema(String apiVersion, String kind) {
        String jar = JAR_OF.get(apiVersion);
        assertTrue(jar != null, "no schema source for " + apiVersion);
        ObjectNode root = read(jar);
        ObjectNode resource = (ObjectNode) root.path("resources").path(kind.toLowerCase(java.util.Locale.ROOT));
        assertFalse(resource.isMissingNode(), jar + " has no schema for " + kind);
        assertEquals(apiVersion, resource.at("/properties/apiVersion/default").asText(), kind + "'s apiVersion");
        ObjectNode schema = resource.deepCopy();
        schema.put("$schema", SpecificationVersion.DRAFT_7.getDialectId());
        ObjectNode definitions = root.get("definitions").deepCopy();
        strict(definitions);
        // fabric8 describes these two as its Java classes; on the wire (and in YAML) they are scalars.
        definitions.set(
                "kubernetes_apimachinery_pkg_util_intstr_IntOrString",
                JSON.createObjectNode()
                        .set("type", JSON.createArrayNode().add("integer").add("string")));
        definitions.set(
                "k8s_io_apimachinery_pkg_api_resource_Quantity",
                JSON.createObjectNode()
                        .set("type", JSON.createArrayNode().add("string").add("number")));
        strict(schema);
        schema.set("definitions", definitions);
        return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_7).getSchema(schema.toString());
    }

    private static final Map<String, ObjectNode> JARS = Collections.synchronizedMap(new HashMap<>());

    private static ObjectNode read(String jar) {
        return JARS.computeIfAbsent(jar, j -> {
            try {
                for (URL u : Collections.list(
                        DeployManifestsTest.class.getClassLoader().getResources("schema/validation-schema.json"))) {
                    if (u.toString().contains("/" + j + "-")) {
                        try (InputStream in = u.openStream()) {
                            return (ObjectNode) JSON.readTree(in);
                        }
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            throw new AssertionError("no schema/validation-schema.json in " + j + " on the test classpath");
        });
    }

    private static void strict(JsonNode node) {
        if (node.isArray()) {
            node.forEach(DeployManifestsTest::strict);
            return;
        }
        if (!node.isObject()) {
            return;
        }
        ObjectNode o = (ObjectNode) node;
        if (o.get("properties") instanceof ObjectNode props) {
            if (!o.has("additionalProperties") || o.get("additionalProperties").isBoolean()) {
                o.put("additionalProperties", false);
            }
            ArrayNode required = JSON.createArrayNode();
            props.fields().forEachRemaining(e -> {
                if (e.getValue().path("required").isBoolean()) {
                    if (e.getValue().path("required").asBoolean()) {
                        required.add(e.getKey());
                    }
                    ((ObjectNode) e.getValue()).remove("required");
                }
            });
            if (!required.isEmpty()) {
                o.set("required", required);
            }
        }
        o.forEach(DeployManifestsTest::strict);
    }
}

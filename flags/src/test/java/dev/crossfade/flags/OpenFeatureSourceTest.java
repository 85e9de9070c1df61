package dev.crossfade.flags;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.launchdarkly.sdk.ContextBuilder;
import com.launchdarkly.sdk.ContextKind;
import com.launchdarkly.sdk.EvaluationDetail;
import com.launchdarkly.sdk.LDContext;
import com.launchdarkly.sdk.server.Components;
import com.launchdarkly.sdk.server.LDClient;
import com.launchdarkly.sdk.server.LDConfig;
import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.devservices.LocalLaunchDarkly;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.openfeature.sdk.Client;
import dev.openfeature.sdk.ErrorCode;
import dev.openfeature.sdk.EvaluationContext;
import dev.openfeature.sdk.FeatureProvider;
import dev.openfeature.sdk.Metadata;
import dev.openfeature.sdk.OpenFeatureAPI;
import dev.openfeature.sdk.ProviderEvaluation;
import dev.openfeature.sdk.Value;
import dev.openfeature.sdk.providers.memory.Flag;
import dev.openfeature.sdk.providers.memory.InMemoryProvider;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The OpenFeature flag source: the same decisions as the LaunchDarkly SDK source, job by job, and the same safe
 * defaults, over OpenFeature's in-memory provider and over a provider that asks a LaunchDarkly client (LaunchDarkly's
 * own OpenFeature provider is not in the Maven registry this build uses).
 */
@ExtendWith(CrossfadeServices.class)
class OpenFeatureSourceTest {
    private static final String ROUTE = FlagsConfig.DEFAULT_ROUTE_FLAG;
    private static final String KILL = FlagsConfig.DEFAULT_KILL_SWITCH_FLAG;
    private static final String SHADOW = FlagsConfig.DEFAULT_SHADOW_FLAG;
    private static final int JOBS = 20_000;

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

    private RoutingFlags openFeature(FeatureProvider provider) {
        String domain = "crossfade-test-" + UUID.randomUUID();
        OpenFeatureAPI.getInstance().setProviderAndWait(domain, provider);
        Client client = OpenFeatureAPI.getInstance().getClient(domain);
        return RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.openFeature(client))
                .startWait(Duration.ofSeconds(5))
                .meterRegistry(meters)
                .build());
    }

    private static Job[] jobs() {
        Job[] jobs = new Job[JOBS];
        for (int i = 0; i < JOBS; i++) {
            // Half with routing keys, half bucketed by jid as anonymous contexts.
            jobs[i] = i % 2 == 0
                    ? Job.builder("HardWorker").routingKey("acct-" + i).build()
                    : Job.builder("HardWorker").build();
        }
        return jobs;
    }

    /** LaunchDarkly's flag JSON: a rollout of {@code percent} to the second variation, bucketed by job key. */
    private static String rollout(String variations, int percent, String salt) {
        int w = percent * 1000;
        return """
                {"on": true, "salt": "%s", "variations": [%s], "offVariation": 0, "targets": [], "rules": [],
                 "prerequisites": [], "fallthrough": {"rollout": {"contextKind": "job", "bucketBy": "key",
                 "variations": [{"variation": 0, "weight": %d}, {"variation": 1, "weight": %d}]}}}""".formatted(salt, variations, 100_000 - w, w);
    }

    /** LaunchDarkly's bucketing of a context key for a flag and salt, in [0, 1): what its rollouts use. */
    private static double bucket(String flag, String salt, String key) {
        try {
            byte[] sha = MessageDigest.getInstance("SHA-1")
                    .digest((flag + "." + salt + "." + key).getBytes(StandardCharsets.UTF_8));
            String hex = String.format("%040x", new BigInteger(1, sha)).substring(0, 15);
            return Long.parseLong(hex, 16) / (double) 0xFFFFFFFFFFFFFFFL;
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Flag<Boolean> bool(boolean value) {
        return Flag.<Boolean>builder()
                .variant("on", true)
                .variant("off", false)
                .defaultVariant(value ? "on" : "off")
                .build();
    }

    @Test
    void theInMemoryProviderDecidesAsTheLaunchDarklySdkDoesAtTwentyFivePercent(LocalLaunchDarkly ld) {
        ld.setFlag(KILL, """
                {"on": false, "variations": [false, true], "offVariation": 0, "fallthrough": {"variation": 0}}""");
        ld.setFlag(ROUTE, rollout("\"redis\", \"kafka\"", 25, "route-salt"));
        ld.setFlag(SHADOW, rollout("false, true", 10, "shadow-salt"));
        // The same rollouts in OpenFeature's in-memory provider, bucketing the targeting key as LaunchDarkly does.
        Map<String, Flag<?>> flags = new HashMap<>();
        flags.put(KILL, bool(false));
        flags.put(
                ROUTE,
                Flag.<String>builder()
                        .variant("redis", "redis")
                        .variant("kafka", "kafka")
                        .defaultVariant("redis")
                        .contextEvaluator((flag, ctx) ->
                                bucket(ROUTE, "route-salt", ctx.getTargetingKey()) < 0.75 ? "redis" : "kafka")
                        .build());
        flags.put(
                SHADOW,
                Flag.<Boolean>builder()
                        .variant("on", true)
                        .variant("off", false)
                        .defaultVariant("off")
                        .contextEvaluator((flag, ctx) -> bucket(SHADOW, "shadow-salt", ctx.getTargetingKey()) >= 0.9)
                        .build());
        Job[] jobs = jobs();
        try (RoutingFlags sdk = RoutingFlags.start(FlagsConfig.custom()
                        .source(FlagSource.launchDarkly(ld.sdkKey(), LaunchDarklyEndpoints.relayProxy(ld.uri())))
                        .startWait(Duration.ofSeconds(10))
                        .meterRegistry(meters)
                        .build());
                RoutingFlags of = openFeature(new InMemoryProvider(flags))) {
            assertTrue(of.healthy());
            int kafka = compare(sdk, of, jobs);
            assertTrue(kafka > 0.23 * JOBS && kafka < 0.27 * JOBS, "about 25% to Kafka: " + kafka);
        }
    }

    @Test
    void aProviderOverTheLaunchDarklyClientDecidesAsTheSdkSource(LocalLaunchDarkly ld) throws Exception {
        ld.setFlag(KILL, """
                {"on": false, "variations": [false, true], "offVariation": 0, "fallthrough": {"variation": 0}}""");
        ld.setFlag(ROUTE, rollout("\"redis\", \"kafka\"", 25, "route-salt"));
        ld.setFlag(SHADOW, rollout("false, true", 10, "shadow-salt"));
        Job[] jobs = jobs();
        try (LDClient client = new LDClient(
                        ld.sdkKey(),
                        new LDConfig.Builder()
                                .serviceEndpoints(Components.serviceEndpoints().relayProxy(ld.uri()))
                                .events(Components.noEvents())
                                .diagnosticOptOut(true)
                                .startWait(Duration.ofSeconds(10))
                                .build());
                RoutingFlags sdk = RoutingFlags.start(FlagsConfig.custom()
                        .source(FlagSource.launchDarkly(ld.sdkKey(), LaunchDarklyEndpoints.relayProxy(ld.uri())))
                        .startWait(Duration.ofSeconds(10))
                        .meterRegistry(meters)
                        .build());
                RoutingFlags of = openFeature(new LaunchDarklyProvider(client))) {
            int kafka = compare(sdk, of, jobs);
            assertTrue(kafka > 0.23 * JOBS && kafka < 0.27 * JOBS, "about 25% to Kafka: " + kafka);

            // A change reaches both: the kill switch on, through the stream.
            ld.setFlag(KILL, """
                    {"on": true, "variations": [false, true], "offVariation": 0, "fallthrough": {"variation": 1}}""");
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> sdk.decide(jobs[0]).reason() == RouteDecision.Reason.KILL_SWITCH);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> of.decide(jobs[0]).reason() == RouteDecision.Reason.KILL_SWITCH);
            assertTrue(of.state(100).killSwitch());
        }
    }

    /** Decides every job with both; they must agree job by job. Returns how many went to Kafka. */
    private static int compare(RoutingFlags sdk, RoutingFlags of, Job[] jobs) {
        int kafka = 0;
        int shadowed = 0;
        for (Job j : jobs) {
            RouteDecision a = sdk.decide(j);
            RouteDecision b = of.decide(j);
            assertEquals(a, b, "job " + j.jid() + " (routing key " + j.routingKey() + ")");
            kafka += a.primary() == Backend.KAFKA ? 1 : 0;
            shadowed += a.shadowed() ? 1 : 0;
        }
        assertTrue(shadowed > 0.08 * JOBS && shadowed < 0.12 * JOBS, "about 10% shadowed: " + shadowed);
        return kafka;
    }

    @Test
    void brokenOrMissingFlagsGiveTheSameSafeDefaults() {
        Map<String, Flag<?>> flags = new HashMap<>();
        flags.put(KILL, bool(false));
        flags.put(
                ROUTE,
                Flag.<String>builder()
                        .variant("kafka", "kafka")
                        .defaultVariant("kafka")
                        .build());
        flags.put(SHADOW, bool(true));
        InMemoryProvider provider = new InMemoryProvider(flags);
        Job job = Job.builder("HardWorker").routingKey("a").build();
        try (RoutingFlags of = openFeature(provider)) {
            assertEquals(
                    new RouteDecision(Backend.KAFKA, Backend.REDIS, RouteDecision.Reason.ROUTE_FLAG), of.decide(job));
            FlagState state = of.state(100);
            assertEquals(1.0, state.kafkaShare());
            assertEquals(1.0, state.shadowShare());
            assertFalse(state.killSwitch());

            provider.updateFlag(KILL, bool(true));
            assertEquals(RouteDecision.Reason.KILL_SWITCH, of.decide(job).reason());
            assertTrue(of.state(10).killSwitch());
            provider.updateFlag(KILL, bool(false));

            // A route value that is no backend, a route flag of the wrong type, a missing route flag: safe default.
            provider.updateFlag(
                    ROUTE,
                    Flag.<String>builder()
                            .variant("m", "mongo")
                            .defaultVariant("m")
                            .build());
            assertEquals(RouteDecision.safeDefault(), of.decide(job));
            assertFalse(of.healthy());
            provider.updateFlag(ROUTE, bool(true));
            assertEquals(RouteDecision.safeDefault(), of.decide(job));
            // A kill switch of the wrong type fails safe too.
            provider.updateFlag(
                    ROUTE,
                    Flag.<String>builder()
                            .variant("kafka", "kafka")
                            .defaultVariant("kafka")
                            .build());
            provider.updateFlag(
                    KILL,
                    Flag.<String>builder().variant("x", "x").defaultVariant("x").build());
            assertEquals(RouteDecision.safeDefault(), of.decide(job));
        }
        // A missing route flag: safe default. A missing kill switch or shadow flag: off.
        try (RoutingFlags of = openFeature(new InMemoryProvider(Map.of(KILL, bool(false))))) {
            assertEquals(RouteDecision.safeDefault(), of.decide(job));
            assertFalse(of.healthy());
        }
        try (RoutingFlags of = openFeature(new InMemoryProvider(Map.of(
                ROUTE,
                Flag.<String>builder()
                        .variant("kafka", "kafka")
                        .defaultVariant("kafka")
                        .build())))) {
            assertEquals(new RouteDecision(Backend.KAFKA, null, RouteDecision.Reason.ROUTE_FLAG), of.decide(job));
            assertTrue(of.healthy());
        }
    }

    @Test
    void aProviderThatIsNeverReadyRoutesToRedis() {
        FeatureProvider never = new LaunchDarklyProvider(null) {
            @Override
            public void initialize(EvaluationContext ctx) throws Exception {
                throw new IllegalStateException("cannot reach the flag service (test)");
            }
        };
        String domain = "crossfade-test-" + UUID.randomUUID();
        OpenFeatureAPI.getInstance().setProvider(domain, never);
        try (RoutingFlags of = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.openFeature(OpenFeatureAPI.getInstance().getClient(domain)))
                .startWait(Duration.ofMillis(300))
                .meterRegistry(meters)
                .build())) {
            for (int i = 0; i < 100; i++) {
                assertEquals(
                        RouteDecision.safeDefault(),
                        of.decide(Job.builder("HardWorker").routingKey("k" + i).build()));
            }
            assertFalse(of.healthy());
            assertEquals(0.0, meters.get("crossfade.flags.healthy").gauge().value());
        }
    }

    /** A small OpenFeature provider asking a LaunchDarkly client, mapping the context back as LaunchDarkly's does. */
    private static class LaunchDarklyProvider implements FeatureProvider {
        private final LDClient client;

        LaunchDarklyProvider(LDClient client) {
            this.client = client;
        }

        @Override
        public Metadata getMetadata() {
            return () -> "test-launchdarkly";
        }

        private static LDContext context(EvaluationContext ctx) {
            Value kind = ctx.getValue("kind");
            ContextBuilder b =
                    LDContext.builder(ContextKind.of(kind == null ? "user" : kind.asString()), ctx.getTargetingKey());
            for (String name : ctx.keySet()) {
                Value v = ctx.getValue(name);
                if (name.equals("kind")) {
                    continue;
                }
                if (name.equals("anonymous")) {
                    b.anonymous(v.asBoolean());
                } else if (v.isString()) {
                    b.set(name, v.asString());
                } else if (v.isBoolean()) {
                    b.set(name, v.asBoolean());
                } else if (v.isNumber()) {
                    b.set(name, v.asDouble());
                }
            }
            return b.build();
        }

        private static <T> ProviderEvaluation<T> of(EvaluationDetail<T> d) {
            ProviderEvaluation.ProviderEvaluationBuilder<T, ?, ?> b = ProviderEvaluation.<T>builder()
                    .value(d.getValue())
                    .reason(d.getReason().getKind().name());
            if (d.getReason().getKind() == com.launchdarkly.sdk.EvaluationReason.Kind.ERROR) {
                b.errorCode(
                        switch (d.getReason().getErrorKind()) {
                            case FLAG_NOT_FOUND -> ErrorCode.FLAG_NOT_FOUND;
                            case WRONG_TYPE -> ErrorCode.TYPE_MISMATCH;
                            case CLIENT_NOT_READY -> ErrorCode.PROVIDER_NOT_READY;
                            default -> ErrorCode.GENERAL;
                        });
            }
            return b.build();
        }

        @Override
        public ProviderEvaluation<Boolean> getBooleanEvaluation(String key, Boolean dflt, EvaluationContext ctx) {
            return of(client.boolVariationDetail(key, context(ctx), dflt));
        }

        @Override
        public ProviderEvaluation<String> getStringEvaluation(String key, String dflt, EvaluationContext ctx) {
            return of(client.stringVariationDetail(key, context(ctx), dflt));
        }

        @Override
        public ProviderEvaluation<Integer> getIntegerEvaluation(String key, Integer dflt, EvaluationContext ctx) {
            return of(client.intVariationDetail(key, context(ctx), dflt));
        }

        @Override
        public ProviderEvaluation<Double> getDoubleEvaluation(String key, Double dflt, EvaluationContext ctx) {
            return of(client.doubleVariationDetail(key, context(ctx), dflt));
        }

        @Override
        public ProviderEvaluation<Value> getObjectEvaluation(String key, Value dflt, EvaluationContext ctx) {
            return ProviderEvaluation.<Value>builder()
                    .value(dflt)
                    .errorCode(ErrorCode.GENERAL)
                    .build();
        }
    }
}

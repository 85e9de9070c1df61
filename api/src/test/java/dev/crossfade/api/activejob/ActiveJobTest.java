package dev.crossfade.api.activejob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.api.internal.Json;
import dev.crossfade.api.worker.WorkerRegistry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Active Job's Sidekiq payloads, as Rails 7.2/8 with Sidekiq 8's adapter writes them (ActiveJob::Core#serialize and
 * ActiveJob::Arguments in rails/activejob, Sidekiq's lib/active_job/queue_adapters/sidekiq_adapter.rb), run on Java
 * workers registered under the job class, and Java writes the same shape.
 */
class ActiveJobTest {
    /**
     * {@code WelcomeJob.set(queue: "mailers").perform_later(user, "hi", {"plan" => "pro"}, locale: :fr, kind: :weekly)}
     * where user is a GlobalID-able record, as Sidekiq 8's adapter pushes it.
     */
    static final String RAILS_PAYLOAD = """
            {"retry":true,"queue":"mailers","wrapped":"WelcomeJob","args":[{"job_class":"WelcomeJob",\
            "job_id":"0b9a4a9c-2d0e-4f7a-9a4e-7c9e2c1b5f11","provider_job_id":null,"queue_name":"mailers",\
            "priority":null,"arguments":[{"_aj_globalid":"gid://shop/User/42"},"hi",\
            {"plan":"pro","_aj_symbol_keys":[]},{"locale":{"_aj_serialized":"ActiveJob::Serializers::SymbolSerializer",\
            "value":"fr"},"kind":{"_aj_serialized":"ActiveJob::Serializers::SymbolSerializer","value":"weekly"},\
            "_aj_ruby2_keywords":["locale","kind"]}],"executions":0,"exception_executions":{},"locale":"en",\
            "timezone":"UTC","enqueued_at":"2026-12-06T01:00:00.123456789Z","scheduled_at":null}],\
            "class":"Sidekiq::ActiveJob::Wrapper","jid":"6f1c0e5d2b9a8c7d6e5f4a3b","created_at":1796518800123,\
            "enqueued_at":1796518800124}""";

    @Test
    void aRailsJobRunsOnTheWorkerOfItsJobClassWithPlainArguments() {
        AtomicReference<JsonNode> got = new AtomicReference<>();
        AtomicReference<String> jid = new AtomicReference<>();
        ExecutionCore core = ExecutionCore.builder(WorkerRegistry.builder()
                        .register("WelcomeJob", (args, ctx) -> {
                            got.set(args.raw());
                            jid.set(ctx.jid());
                        })
                        .build())
                .build();
        Outcome o = core.execute(RAILS_PAYLOAD.getBytes(StandardCharsets.UTF_8), Backend.REDIS, "mailers");
        assertInstanceOf(Outcome.Succeeded.class, o);
        assertEquals(
                "[\"gid://shop/User/42\",\"hi\",{\"plan\":\"pro\"},{\"locale\":\"fr\",\"kind\":\"weekly\"}]",
                got.get().toString());
        assertEquals("6f1c0e5d2b9a8c7d6e5f4a3b", jid.get(), "the Sidekiq jid, as Sidekiq sets provider_job_id");
    }

    @Test
    void theOlderWrapperAndAWrapperWorkerOfItsOwnAreHonoured() {
        String legacy = RAILS_PAYLOAD.replace(ActiveJob.WRAPPER, ActiveJob.LEGACY_WRAPPER);
        List<String> ran = new ArrayList<>();
        ExecutionCore byJobClass = ExecutionCore.builder(WorkerRegistry.builder()
                        .register("WelcomeJob", (a, c) -> ran.add("job:" + a.size()))
                        .build())
                .build();
        byJobClass.execute(legacy.getBytes(StandardCharsets.UTF_8), Backend.REDIS, "mailers");
        ExecutionCore byWrapper = ExecutionCore.builder(WorkerRegistry.builder()
                        .register(ActiveJob.WRAPPER, (a, c) -> ran.add("wrapper:" + a.size()))
                        .register("WelcomeJob", (a, c) -> ran.add("job"))
                        .build())
                .build();
        byWrapper.execute(RAILS_PAYLOAD.getBytes(StandardCharsets.UTF_8), Backend.REDIS, "mailers");
        assertEquals(List.of("job:4", "wrapper:1"), ran);
    }

    @Test
    void anUnknownJobClassIsAnUnknownWorkerNamedByItsJobClass() {
        ExecutionCore core =
                ExecutionCore.builder(WorkerRegistry.builder().build()).build();
        Outcome o = core.execute(RAILS_PAYLOAD.getBytes(StandardCharsets.UTF_8), Backend.REDIS, "mailers");
        Outcome.Retry r = assertInstanceOf(Outcome.Retry.class, o, "retried for a Ruby process, as Sidekiq would");
        assertTrue(r.job().errorMessage().contains("'WelcomeJob'"), r.job().errorMessage());
        assertEquals(ActiveJob.WRAPPER, r.job().className(), "the wrapper job is what is retried");
    }

    @Test
    void javaWritesWhatTheAdapterWritesFieldForField() throws Exception {
        Job job = ActiveJob.job("WelcomeJob")
                .queue("mailers")
                .args("gid://shop/User/42", "hi", java.util.Map.of("plan", "pro"))
                .build();
        JsonNode written = Json.mapper()
                .readTree(JobCodec.builder()
                        .timestamps(JobCodec.Timestamps.MILLISECONDS)
                        .build()
                        .encodeEnqueued(job, java.time.Instant.now()));
        JsonNode rails = Json.mapper().readTree(RAILS_PAYLOAD);
        assertEquals(names(rails), names(written), "the Sidekiq job's fields");
        assertEquals(names(rails.get("args").get(0)), names(written.get("args").get(0)), "the serialized job's fields");
        for (String same : List.of("class", "wrapped", "queue", "retry")) {
            assertEquals(rails.get(same), written.get(same), same);
        }
        JsonNode data = written.get("args").get(0);
        JsonNode railsData = rails.get("args").get(0);
        for (String same : List.of(
                "job_class",
                "provider_job_id",
                "queue_name",
                "priority",
                "executions",
                "exception_executions",
                "locale",
                "timezone",
                "scheduled_at")) {
            assertEquals(railsData.get(same), data.get(same), same);
        }
        assertEquals(
                "[\"gid://shop/User/42\",\"hi\",{\"plan\":\"pro\",\"_aj_symbol_keys\":[]}]",
                data.get("arguments").toString(),
                "a Hash with string keys, as Active Job marks it");
        assertTrue(
                data.get("job_id")
                        .asText()
                        .matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-" + "[0-9a-f]{12}"),
                "SecureRandom.uuid: " + data);
        assertTrue(
                data.get("enqueued_at").asText().matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z"),
                "Time#iso8601(9): " + data);
        assertNull(job.at());
        // And it runs on a Java worker of the same class, too.
        AtomicReference<JsonNode> got = new AtomicReference<>();
        ExecutionCore.builder(WorkerRegistry.builder()
                        .register("WelcomeJob", (a, c) -> got.set(a.raw()))
                        .build())
                .build()
                .execute(job, Backend.REDIS);
        assertEquals(
                "[\"gid://shop/User/42\",\"hi\",{\"plan\":\"pro\"}]", got.get().toString());
    }

    private static List<String> names(JsonNode n) {
        List<String> out = new ArrayList<>();
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            out.add(it.next());
        }
        out.sort(null);
        return out;
    }
}

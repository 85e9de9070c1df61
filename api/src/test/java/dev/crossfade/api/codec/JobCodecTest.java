package dev.crossfade.api.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.POJONode;
import dev.crossfade.api.Jid;
import dev.crossfade.api.Job;
import dev.crossfade.api.internal.Json;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JobCodecTest {
    private final JobCodec codec = JobCodec.defaults();

    @Test
    void readsSidekiqSevenPayloadAndKeepsUnknownKeysInOrder() {
        String ruby = "{\"retry\":true,\"queue\":\"critical\",\"backtrace\":5,\"class\":\"HardWorker\","
                + "\"args\":[1,\"two\",{\"three\":3}],\"jid\":\"b4a577edbccf1d805744efa9\","
                + "\"created_at\":1700000000.1234567,\"enqueued_at\":1700000001.5,\"tags\":[\"a\"],"
                + "\"cattr\":{\"tenant\":\"acme\"}}";
        Job job = codec.decode(ruby);
        assertEquals("HardWorker", job.className());
        assertEquals("critical", job.queue());
        assertEquals("b4a577edbccf1d805744efa9", job.jid());
        assertEquals(Instant.ofEpochSecond(1700000000, 123456000), job.createdAt());
        assertEquals(Instant.ofEpochSecond(1700000001, 500_000_000), job.enqueuedAt());
        assertEquals(25, job.maxRetries(25));
        assertEquals(
                "[\"backtrace\",\"tags\",\"cattr\"]",
                new ObjectMapper().valueToTree(job.extra().keySet()).toString());

        Job again = codec.decode(codec.encode(job));
        assertEquals(job.extra(), again.extra(), "unknown keys survive a round trip");
        assertEquals(job.args(), again.args());
    }

    /** Each thread keeps its generator open between jobs: one that fails midway must not leave part of it behind. */
    @Test
    void aJobThatFailsMidwayLeavesNothingForTheNextOnTheSameThread() {
        Job ok = Job.builder("W")
                .jid("j1")
                .createdAt(Instant.ofEpochSecond(1))
                .args(1, "two", Map.of("three", 3))
                .build();
        // The map goes through the generator, as the broken job's arg does.
        String expected = "{\"class\":\"W\",\"args\":[1,\"two\",{\"three\":3}],\"retry\":true,\"queue\":\"default\","
                + "\"jid\":\"j1\",\"created_at\":1.000000}";
        assertEquals(expected, new String(codec.encode(ok), StandardCharsets.UTF_8));
        Job broken = Job.builder("W")
                .jid("j2")
                .args(1, new POJONode(new Exploding()))
                .build();
        assertThrows(UncheckedIOException.class, () -> codec.encode(broken));
        assertEquals(expected, new String(codec.encode(ok), StandardCharsets.UTF_8));
    }

    /**
     * The codec writes the envelope, plain ASCII text and integers itself and hands every other value to Jackson: the
     * bytes must be those Jackson writes for the same tree, whichever way each value went.
     */
    @Test
    void writesTheBytesJacksonWritesForEveryKindOfValue() throws Exception {
        ObjectMapper mapper = Json.mapper();
        String[] texts = {
            "",
            "plain",
            "quote\"in",
            "back\\slash",
            "tab\tnew\nline",
            "\u0000\u001f",
            "del\u007f",
            "slash/",
            "café",
            "日本",
            "emoji \uD83D\uDE00",
            "x".repeat(300)
        };
        ArrayNode args = mapper.createArrayNode();
        for (String t : texts) {
            args.add(t);
        }
        args.add(0).add(-1).add(Integer.MIN_VALUE).add(Integer.MAX_VALUE);
        args.add(Long.MIN_VALUE).add(Long.MAX_VALUE).add(1L << 40);
        args.add(new BigInteger("123456789012345678901234567890"));
        args.add(new BigDecimal("1.50"))
                .add(2.5d)
                .add(1e300)
                .add(true)
                .add(false)
                .addNull();
        args.add(mapper.readTree("{\"a\":[1,{\"b\":\"c\\\"\"}],\"é\":null}"));
        args.add(mapper.createArrayNode());
        Instant[] stamps = {
            Instant.ofEpochSecond(0),
            Instant.ofEpochSecond(0, 1_000),
            Instant.ofEpochSecond(9, 999_999_000),
            Instant.ofEpochSecond(1_700_000_000, 120_000),
            Instant.ofEpochSecond(-5, 250_000_000),
            Instant.ofEpochSecond(Long.MAX_VALUE / 2_000_000, 0)
        };
        for (String text : texts) {
            for (Instant t : stamps) {
                Job job = Job.builder(text.isEmpty() ? "W" : "W" + text)
                        .argsNode(args)
                        .jid("j" + text)
                        .queue("q" + text)
                        .createdAt(t)
                        .enqueuedAt(t)
                        .retryCount(3)
                        .errorMessage(text)
                        .errorClass("E" + text)
                        .failedAt(t)
                        .retriedAt(t)
                        .routingKey("k" + text)
                        .shadow(true)
                        .extra("x" + text, mapper.valueToTree(texts))
                        .build();
                ObjectNode tree = mapper.createObjectNode();
                tree.put("class", job.className());
                tree.set("args", args);
                tree.set("retry", job.retry());
                tree.put("queue", job.queue());
                tree.put("jid", job.jid());
                BigDecimal seconds = BigDecimal.valueOf(t.getEpochSecond() * 1_000_000L + t.getNano() / 1000, 6);
                tree.put("created_at", seconds);
                tree.put("enqueued_at", seconds);
                tree.put("retry_count", 3);
                tree.put("error_message", text);
                tree.put("error_class", job.errorClass());
                tree.put("failed_at", seconds);
                tree.put("retried_at", seconds);
                tree.put("routing_key", job.routingKey());
                tree.put("shadow", true);
                tree.set("x" + text, mapper.valueToTree(texts));
                assertEquals(
                        new String(mapper.writeValueAsBytes(tree), StandardCharsets.UTF_8),
                        new String(codec.encode(job), StandardCharsets.UTF_8),
                        "text " + text + ", time " + t);
            }
        }
    }

    /** A bean whose only property cannot be read. */
    public static final class Exploding {
        public String getValue() {
            throw new IllegalStateException("unreadable");
        }
    }

    @Test
    void integerTimestampsAreMillisecondsAsSidekiqEightWrites() {
        Job job = codec.decode("{\"class\":\"W\",\"args\":[],\"jid\":\"x\",\"created_at\":1700000000123}");
        assertEquals(Instant.ofEpochMilli(1700000000123L), job.createdAt());
    }

    /** Ruby's Time#to_f as Sidekiq writes it: six decimals, microseconds, for any instant. */
    @Test
    void timestampTextHasMicrosecondsLikeBigDecimalScaleSix() {
        for (Instant t : new Instant[] {
            Instant.ofEpochSecond(1700000000, 1_000),
            Instant.ofEpochSecond(1700000000),
            Instant.ofEpochSecond(1700000000, 999_999_999),
            Instant.ofEpochSecond(0, 1_000),
            Instant.ofEpochSecond(-5, 250_000_000)
        }) {
            String json = new String(
                    codec.encode(Job.builder("W").jid("x").createdAt(t).build()), StandardCharsets.UTF_8);
            String expected = BigDecimal.valueOf(t.getEpochSecond() * 1_000_000L + t.getNano() / 1000, 6)
                    .toString();
            assertTrue(
                    json.matches(".*\"created_at\":" + java.util.regex.Pattern.quote(expected) + "[,}].*"),
                    t + " -> " + json);
        }
    }

    /** Float seconds are read exactly, whatever their spelling (the fast path and the BigDecimal path agree). */
    @Test
    void floatTimestampsAreExactInEverySpelling() {
        String[][] cases = {
            {"1700000000.1234567", "2023-11-14T22:13:20.123456Z"},
            {"1700000000.5", "2023-11-14T22:13:20.500Z"},
            {"1700000000.000001", "2023-11-14T22:13:20.000001Z"},
            {"1.7000000005e9", "2023-11-14T22:13:20.500Z"},
            {"-5.25", "1969-12-31T23:59:54.750Z"},
            {"0.5", "1970-01-01T00:00:00.500Z"},
        };
        for (String[] c : cases) {
            Job job = codec.decode("{\"class\":\"W\",\"args\":[],\"created_at\":" + c[0] + "}");
            assertEquals(Instant.parse(c[1]), job.createdAt(), c[0]);
        }
    }

    @Test
    void keepsWhatTheTreeReaderKept() {
        Job job = codec.decode("{\"class\":\"W\",\"args\":[[1,{\"a\":null}],2.50],\"retry\":null,"
                + "\"x\":null,\"jid\":7,\"shadow\":\"true\",\"y\":{\"z\":[true]}}");
        assertEquals("[[1,{\"a\":null}],2.50]", job.args().toString(), "nested args and exact decimals");
        assertTrue(job.retry().isNull(), "retry: null is kept, as Ruby wrote it");
        assertEquals("7", job.jid(), "a numeric jid keeps its text");
        assertTrue(job.shadow());
        assertEquals("{x=null, y={\"z\":[true]}}", job.extra().toString());
        assertEquals(job, codec.decode(codec.encode(job)));
    }

    @Test
    void writesArgsAndExtrasAsTheMapperWould() throws Exception {
        String args = "[1,-7,12345678901,123456789012345678901234567890,2.50,1E+3,\"t\\\"é\\n\",null,true,false,"
                + "[{\"a\":[1,null]}]]";
        Job job = codec.decode("{\"class\":\"W\",\"args\":" + args + ",\"retry\":5,\"x\":\"y\",\"n\":null}");
        ObjectMapper mapper = Json.mapper();
        String json = new String(codec.encode(job), StandardCharsets.UTF_8);
        assertTrue(json.contains("\"args\":" + mapper.writeValueAsString(job.args()) + ","), json);
        assertTrue(json.contains("\"retry\":5,"), json);
        assertTrue(json.endsWith(",\"x\":\"y\",\"n\":null}"), json);
        assertEquals(job, codec.decode(json));
    }

    @Test
    void writesTimestampsAsFloatSeconds() throws Exception {
        Job job = Job.builder("W")
                .createdAt(Instant.ofEpochSecond(1700000000, 250_000_000))
                .build();
        JsonNode tree = new ObjectMapper().readTree(codec.encode(job));
        assertTrue(tree.get("created_at").isFloatingPointNumber(), tree.toString());
        assertEquals(1700000000.25, tree.get("created_at").doubleValue(), 1e-6);
        assertTrue(tree.get("retry").booleanValue(), "retry defaults to true, as Sidekiq's client writes it");
        assertFalse(tree.has("at"), "no at for an immediate job");
    }

    @Test
    void rejectsWhatIsNotAJobNamingTheFault() {
        assertMessage("not valid JSON", "{\"class\":");
        assertMessage("expected an object", "[1,2]");
        assertMessage("no 'class'", "{\"args\":[]}");
        assertMessage("'class' must be a non-empty string", "{\"class\":7,\"args\":[]}");
        assertMessage("has no 'args'", "{\"class\":\"W\"}");
        assertMessage("must be a JSON array, got a string", "{\"class\":\"W\",\"args\":\"x\"}");
        assertMessage("'retry' must be a boolean or a number", "{\"class\":\"W\",\"args\":[],\"retry\":\"yes\"}");
        assertMessage("'created_at' must be a number", "{\"class\":\"W\",\"args\":[],\"created_at\":\"now\"}");
        assertMessage("payload is empty", "");
        assertMessage("expected an object", "null");
        assertMessage("not valid JSON", "{\"class\":\"W\",\"args\":[]} {}");
        assertMessage("not valid JSON", "{\"class\":7,\"args\":[1,]}");
        assertMessage("'jid' must be a string", "{\"class\":\"W\",\"args\":[],\"jid\":[1]}");
        assertMessage("'retry_count' must be an integer", "{\"class\":\"W\",\"args\":[],\"retry_count\":1.5}");
        assertMessage("'class' must be a non-empty string, got \" \"", "{\"class\":\" \",\"args\":[]}");
    }

    @Test
    void argsReadLaterAreTheTreeTheMapperReads() throws Exception {
        String args = "[1, \"x\\u00e9\", {\"a\": [true, null]}, 2.50, 12345678901234567890]";
        Job job = codec.decode("{\"class\":\"W\",\"args\":" + args + ",\"args\":" + args + ",\"jid\":\"j1\"}");
        assertEquals(Json.mapper().readTree(args), job.args());
        assertTrue(job.args() == job.args(), "read once, then kept");
        // A copy made before the args were read carries them, and encoding reads them.
        Job copy = codec.decode(codec.encode(job)).toBuilder().queue("other").build();
        assertEquals(job.args(), copy.args());
        assertEquals(job, codec.decode(codec.encode(job)));
        // Broken JSON inside the args still fails the decode, not the worker's first read.
        assertMessage("not valid JSON", "{\"class\":\"W\",\"args\":[1, \"unterminated]}");
        assertMessage("not valid JSON", "{\"class\":\"W\",\"args\":[1 2]}");
        assertMessage("must be a JSON array, got a string", "{\"class\":\"W\",\"args\":[],\"args\":\"x\"}");
    }

    private void assertMessage(String expected, String payload) {
        InvalidPayloadException e = assertThrows(InvalidPayloadException.class, () -> codec.decode(payload));
        assertTrue(e.getMessage().contains(expected), "'" + e.getMessage() + "' should contain '" + expected + "'");
    }

    @Test
    void enforcesThePayloadLimitOnBothSides() {
        JobCodec small = JobCodec.builder().maxPayloadBytes(100).build();
        Job big = Job.of("W", "x".repeat(200));
        PayloadTooLargeException e = assertThrows(PayloadTooLargeException.class, () -> small.encode(big));
        assertEquals(100, e.limit());
        assertTrue(e.getMessage().contains(big.jid()), e.getMessage());
        byte[] bytes = codec.encode(big);
        assertThrows(PayloadTooLargeException.class, () -> small.decode(bytes));
        assertThrows(IllegalArgumentException.class, () -> JobCodec.builder().maxPayloadBytes(1));
    }

    @Test
    void retryFalseAndCountsAreHonoured() {
        assertEquals(
                0, codec.decode("{\"class\":\"W\",\"args\":[],\"retry\":false}").maxRetries(25));
        assertEquals(
                3, codec.decode("{\"class\":\"W\",\"args\":[],\"retry\":3}").maxRetries(25));
        Job noRetryKey = codec.decode("{\"class\":\"W\",\"args\":[]}");
        assertNull(noRetryKey.retry());
        assertEquals(25, noRetryKey.maxRetries(25));
    }

    @Test
    void crossfadeKeysRoundTrip() {
        Job job = Job.builder("W").routingKey("account-7").shadow(true).build();
        Job back = codec.decode(codec.encode(job));
        assertEquals("account-7", back.routingKey());
        assertTrue(back.shadow());
        assertEquals(job, back);
    }

    @Test
    void jidsHaveSidekiqShape() {
        for (int i = 0; i < 1000; i++) {
            assertTrue(Jid.isWellFormed(Jid.next()));
        }
        assertFalse(Jid.isWellFormed("ABCDEF0123456789abcdef01"));
        assertFalse(Jid.isWellFormed("abc"));
        String json = new String(codec.encode(Job.of("W")), StandardCharsets.UTF_8);
        assertTrue(json.startsWith("{\"class\":\"W\",\"args\":[]"), json);
    }

    @Test
    void sidekiq8TimestampsAreIntegerMillisecondsExceptAt() throws Exception {
        JobCodec eight =
                JobCodec.builder().timestamps(JobCodec.Timestamps.MILLISECONDS).build();
        Instant t = Instant.parse("2026-12-05T10:00:00.123456Z");
        Job job = Job.builder("W")
                .createdAt(t)
                .failedAt(t)
                .retriedAt(t)
                .retryCount(1)
                .at(t)
                .build();
        JsonNode n = new ObjectMapper().readTree(eight.encode(job));
        for (String field : new String[] {"created_at", "failed_at", "retried_at"}) {
            assertTrue(n.get(field).isIntegralNumber(), field + ": " + n.get(field));
            assertEquals(t.toEpochMilli(), n.get(field).longValue(), field);
        }
        assertTrue(n.get("at").isFloatingPointNumber(), "the schedule time stays float seconds: " + n.get("at"));
        assertEquals(
                Instant.ofEpochMilli(t.toEpochMilli()),
                codec.decode(eight.encode(job)).createdAt());
        assertTrue(
                new ObjectMapper().readTree(codec.encode(job)).get("created_at").isFloatingPointNumber());
    }
}

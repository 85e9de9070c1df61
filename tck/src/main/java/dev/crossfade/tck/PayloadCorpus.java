package dev.crossfade.tck;

import dev.crossfade.api.codec.JobCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Hostile payloads for fuzz tests: hand-written cases (invalid UTF-8, broken and non-object JSON, NaN and Infinity,
 * out-of-range and negative timestamps, duplicate keys, deep nesting, huge args) and generated ones (every envelope
 * field missing, empty, or of each wrong type; every truncation of a good job; seeded byte flips). Every case names
 * the worker class given, so only its malformation decides its fate.
 *
 * <p>{@link Case#fate()} is the oracle a test checks against: a case runs when {@link JobCodec#defaults()} decodes it
 * to a job of the worker class, is acknowledged unrun when that job is marked shadow (the worker is not shadow-safe),
 * follows Sidekiq's retry rules when it decodes to another class, and is dead (with a reason) when it does not
 * decode. Whatever the case, it must end in exactly one of those places.
 */
public final class PayloadCorpus {
    /** Where a case must end. */
    public enum Fate {
        /** The worker runs it once. */
        RUNS,
        /** A shadow copy for a worker that is not shadow-safe: acknowledged without running. */
        SHADOW,
        /** Dead, with a reason naming the fault. */
        DEAD,
        /** A well-formed job of a class no worker is registered for, with retries left: in the retry set. */
        RETRIED,
        /** A well-formed job of an unknown class with {@code retry: false}: discarded, as Sidekiq does. */
        DISCARDED
    }

    /** One payload, named for reports. */
    public record Case(String name, byte[] payload, Fate fate) {
        public boolean runs() {
            return fate == Fate.RUNS;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private static final String[] FIELDS = {
        "class",
        "args",
        "jid",
        "queue",
        "created_at",
        "enqueued_at",
        "at",
        "retry",
        "retry_count",
        "error_message",
        "error_class",
        "failed_at",
        "retried_at",
        "routing_key",
        "shadow"
    };
    private static final String[] VALUES = {
        "\"\"",
        "null",
        "0",
        "-1",
        "1e17",
        "-1e17",
        "1.5",
        "true",
        "[]",
        "{}",
        "\"x\"",
        "[1,2]",
        "{\"a\":1}",
        "18446744073709551616",
        "1e400",
        "-0.0",
        "\"\\u0000\""
    };

    private PayloadCorpus() {}

    /**
     * The corpus (over 300 cases) for jobs of {@code workerClass} on {@code queue}; the same list for the same
     * arguments.
     *
     * @param hugeArgs whether to include the 10 MB case (leave it out where a transport cannot carry it)
     */
    public static List<Case> cases(String workerClass, String queue, boolean hugeArgs) {
        Map<String, String> good = new LinkedHashMap<>();
        good.put("class", quote(workerClass));
        good.put("args", "[1,\"two\",{\"three\":3.0}]");
        // retry: 0, so a mutation that leaves a well-formed job of an unknown class is dead at once, as in Sidekiq.
        good.put("retry", "0");
        good.put("queue", quote(queue));
        good.put("jid", quote("0123456789abcdef01234567"));
        good.put("created_at", "1733400000.123456");
        good.put("enqueued_at", "1733400000.123456");
        String goodJson = object(good);

        List<String> named = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        java.util.function.BiConsumer<String, byte[]> add = (n, p) -> {
            named.add(n);
            payloads.add(p);
        };
        java.util.function.BiConsumer<String, String> addText = (n, t) -> add.accept(n, utf8(t));

        // Not JSON, or not a job object.
        addText.accept("empty", "");
        addText.accept("blank", "   \n\t ");
        addText.accept("null", "null");
        addText.accept("number", "42");
        addText.accept("string", "\"job\"");
        addText.accept("array", "[" + goodJson + "]");
        addText.accept("true", "true");
        addText.accept("garbage", "<html>not a job</html>");
        addText.accept("two objects", goodJson + goodJson);
        addText.accept("trailing comma", goodJson.substring(0, goodJson.length() - 1) + ",}");
        addText.accept("single quotes", goodJson.replace('"', '\''));
        addText.accept("NaN arg", goodJson.replace("[1,", "[NaN,"));
        addText.accept("Infinity arg", goodJson.replace("[1,", "[Infinity,"));
        addText.accept(
                "-Infinity created_at",
                goodJson.replace("\"created_at\":1733400000.123456", "\"created_at\":-Infinity"));
        addText.accept("NaN created_at", goodJson.replace("\"created_at\":1733400000.123456", "\"created_at\":NaN"));
        addText.accept("comment", "/* hi */" + goodJson);
        addText.accept("BOM", "\uFEFF" + goodJson);
        // Bytes that are not UTF-8.
        add.accept(
                "invalid UTF-8 in args",
                concat(
                        utf8(goodJson.replace("\"two\"", "\"t")),
                        new byte[] {(byte) 0xC3, (byte) 0x28},
                        utf8("\"" + goodJson.substring(goodJson.indexOf("\"two\"") + 5))));
        add.accept("lone continuation bytes", new byte[] {(byte) 0x80, (byte) 0x81, (byte) 0xFE, (byte) 0xFF});
        add.accept(
                "overlong NUL",
                concat(
                        utf8("{\"class\":\"" + workerClass + "\",\"args\":[\""),
                        new byte[] {(byte) 0xC0, (byte) 0x80},
                        utf8("\"]}")));
        add.accept("NUL bytes", new byte[64]);
        // Duplicate keys, deep nesting, sizes.
        addText.accept("duplicate class", first(goodJson, "\"class\":\"Other\","));
        addText.accept("duplicate args", first(goodJson, "\"args\":{},"));
        addText.accept("deep args", goodJson.replace("[1,", "[" + "[".repeat(5_000) + "]".repeat(5_000) + ","));
        addText.accept(
                "deep extra", first(goodJson, "\"deep\":" + "{\"a\":".repeat(3_000) + "1" + "}".repeat(3_000) + ","));
        addText.accept("1e17 created_at", goodJson.replace("1733400000.123456,\"enqueued", "1e17,\"enqueued"));
        addText.accept(
                "1e17 float created_at",
                goodJson.replace("1733400000.123456,\"enqueued", "100000000000000000.0,\"enqueued"));
        addText.accept(
                "integer 1e17 created_at",
                goodJson.replace("1733400000.123456,\"enqueued", "100000000000000000,\"enqueued"));
        addText.accept("negative created_at", goodJson.replace("1733400000.123456,\"enqueued", "-5.5,\"enqueued"));
        addText.accept("Long.MIN at", first(goodJson, "\"at\":-9223372036854775808,"));
        addText.accept("huge retry_count", first(goodJson, "\"retry_count\":99999999999999999999,"));
        addText.accept("negative retry_count", first(goodJson, "\"retry_count\":-3,"));
        addText.accept("unicode everywhere", goodJson.replace("\"two\"", "\"\u00e9\u4e2d\ud83d\ude00\\u0000\\ud800\""));
        addText.accept("lone surrogate escape", goodJson.replace("\"two\"", "\"\\udc00\""));
        addText.accept("100k args", goodJson.replace("[1,", "[" + "1,".repeat(100_000)));
        addText.accept("long class", goodJson.replace(quote(workerClass), quote("X".repeat(100_000))));
        if (hugeArgs) {
            addText.accept("10 MB args", goodJson.replace("[1,", "[\"" + "a".repeat(10 * 1024 * 1024) + "\","));
        }

        // Every field missing, and every field given every wrong (or odd) value.
        for (String field : FIELDS) {
            if (good.containsKey(field)) {
                Map<String, String> m = new LinkedHashMap<>(good);
                m.remove(field);
                addText.accept("missing " + field, object(m));
            }
            for (String value : VALUES) {
                Map<String, String> m = new LinkedHashMap<>(good);
                m.put(field, value);
                addText.accept(field + "=" + value, object(m));
            }
        }
        // Every field empty at once, and all missing.
        Map<String, String> empty = new LinkedHashMap<>();
        for (String field : FIELDS) {
            empty.put(field, "\"\"");
        }
        addText.accept("every field empty", object(empty));
        addText.accept("empty object", "{}");

        // Truncations of the good job at every 3rd byte: each a JSON document cut short.
        byte[] full = utf8(goodJson);
        for (int cut = 0; cut < full.length - 1; cut += 3) {
            byte[] prefix = new byte[cut];
            System.arraycopy(full, 0, prefix, 0, cut);
            add.accept("truncated at " + cut, prefix);
        }
        // Seeded single-byte corruptions.
        Random random = new Random(17);
        for (int i = 0; i < 60; i++) {
            byte[] copy = full.clone();
            int at = random.nextInt(copy.length);
            copy[at] = (byte) random.nextInt(256);
            add.accept("byte " + at + " flipped (" + i + ")", copy);
        }

        List<Case> out = new ArrayList<>(payloads.size());
        for (int i = 0; i < payloads.size(); i++) {
            out.add(new Case(named.get(i), payloads.get(i), fate(payloads.get(i), workerClass)));
        }
        return Collections.unmodifiableList(out);
    }

    private static Fate fate(byte[] payload, String workerClass) {
        try {
            dev.crossfade.api.Job job = JobCodec.defaults().decode(payload);
            if (workerClass.equals(job.className())) {
                return job.shadow() ? Fate.SHADOW : Fate.RUNS;
            }
            if (job.shadow()
                    || job.retry() != null
                            && job.retry().isBoolean()
                            && !job.retry().booleanValue()) {
                return Fate.DISCARDED;
            }
            return job.maxRetries(25) == 0 ? Fate.DEAD : Fate.RETRIED;
        } catch (RuntimeException | StackOverflowError e) {
            return Fate.DEAD;
        }
    }

    /** The job object with {@code fields} (a comma-terminated member list) inserted first. */
    private static String first(String json, String fields) {
        return "{" + fields + json.substring(1);
    }

    private static String object(Map<String, String> fields) {
        StringBuilder sb = new StringBuilder("{");
        fields.forEach((k, v) -> sb.append(sb.length() > 1 ? "," : "")
                .append(quote(k))
                .append(':')
                .append(v));
        return sb.append('}').toString();
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}

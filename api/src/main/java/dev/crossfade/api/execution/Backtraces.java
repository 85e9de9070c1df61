package dev.crossfade.api.execution;

import com.fasterxml.jackson.core.JsonProcessingException;
import dev.crossfade.api.internal.Json;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * Backtraces stored as Sidekiq stores them in {@code error_backtrace}: the lines as a JSON array, zlib-deflated, then
 * strict Base64. Sidekiq Web and {@code Sidekiq::JobRecord#error_backtrace} read it back.
 */
final class Backtraces {
    private Backtraces() {}

    /** The first {@code maxLines} frames of {@code error}, compressed. */
    static String compress(Throwable error, int maxLines) {
        List<String> lines = new ArrayList<>();
        for (StackTraceElement e : error.getStackTrace()) {
            if (lines.size() >= maxLines) {
                break;
            }
            lines.add(e.toString());
        }
        byte[] json;
        try {
            json = Json.mapper().writeValueAsBytes(lines);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        Deflater deflater = new Deflater();
        deflater.setInput(json);
        deflater.finish();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!deflater.finished()) {
            out.write(buf, 0, deflater.deflate(buf));
        }
        deflater.end();
        return Base64.getEncoder().encodeToString(out.toByteArray());
    }

    /** The lines of a stored backtrace (for tests and tools). */
    static List<String> decompress(String stored) throws java.util.zip.DataFormatException {
        byte[] compressed = Base64.getMimeDecoder().decode(stored);
        Inflater inflater = new Inflater();
        inflater.setInput(compressed);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[4096];
        while (!inflater.finished()) {
            int n = inflater.inflate(buf);
            if (n == 0 && inflater.needsInput()) {
                break;
            }
            out.write(buf, 0, n);
        }
        inflater.end();
        try {
            return List.of(
                    Json.mapper().readValue(new String(out.toByteArray(), StandardCharsets.UTF_8), String[].class));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.crossfade.api.codec;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.io.NumberOutput;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The JSON of one job as it is written, one per thread, reused job after job. The envelope's punctuation and field
 * names, text that is ASCII and needs no escaping, integers, booleans and timestamps go straight into its array; every
 * other value (text to escape or encode, objects, arrays, decimals) goes through Jackson's generator, which writes into
 * the same array. So the bytes are those the generator alone would write. A job that fails midway leaves this object
 * unusable: its owner drops it.
 */
final class JsonOut extends OutputStream {
    // A thread that once wrote a large job does not keep that much memory.
    private static final int KEPT = 64 * 1024;
    private static final byte[] TRUE = ascii("true");
    private static final byte[] FALSE = ascii("false");
    private static final byte[] NULL = ascii("null");

    private final ObjectMapper mapper;
    private final JsonGenerator generator;
    private byte[] bytes = new byte[1024];
    private int count;

    JsonOut(ObjectMapper mapper) {
        this.mapper = mapper;
        try {
            this.generator = mapper.getFactory().createGenerator(this);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Each value the generator writes is a root value of its own: no separator before it.
        generator.setRootValueSeparator(null);
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** The job written since the last one was taken. */
    byte[] take() {
        byte[] taken = Arrays.copyOf(bytes, count);
        count = 0;
        if (bytes.length > KEPT) {
            bytes = new byte[1024];
        }
        return taken;
    }

    /** Bytes that need no escaping: punctuation and the envelope's field names. */
    void raw(byte[] b) {
        write(b, 0, b.length);
    }

    void raw(char c) {
        room(1);
        bytes[count++] = (byte) c;
    }

    /** A JSON string; the generator writes any text that is not plain ASCII. */
    void string(String s) throws IOException {
        int n = s.length();
        room(n + 2);
        byte[] b = bytes;
        int p = count;
        b[p++] = '"';
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
                // Nothing is committed yet: the generator writes the whole string from count on.
                generator.writeString(s);
                generator.flush();
                return;
            }
            b[p++] = (byte) c;
        }
        b[p++] = '"';
        count = p;
    }

    void number(long v) {
        room(20);
        count = NumberOutput.outputLong(v, bytes, count);
    }

    void number(int v) {
        room(11);
        count = NumberOutput.outputInt(v, bytes, count);
    }

    /** A decimal as the generator writes it (negative timestamps). */
    void number(BigDecimal v) throws IOException {
        generator.writeNumber(v);
        generator.flush();
    }

    /**
     * Epoch seconds with six decimals: the text of {@code BigDecimal.valueOf(seconds * 1e6 + micros, 6)} for
     * {@code seconds >= 0}, written without a BigDecimal or a string.
     */
    void seconds(long seconds, long micros) {
        room(27);
        int p = NumberOutput.outputLong(seconds, bytes, count);
        bytes[p] = '.';
        // Six digits, leading zeros kept; int arithmetic (micros < 1,000,000).
        int m = (int) micros;
        for (int i = 6; i > 0; i--) {
            bytes[p + i] = (byte) ('0' + m % 10);
            m /= 10;
        }
        count = p + 7;
    }

    /** A node as the mapper writes it; the common scalars without the mapper, which makes a provider per call. */
    void node(JsonNode n) throws IOException {
        switch (n.getNodeType()) {
            case STRING -> string(n.textValue());
            case BOOLEAN -> raw(n.booleanValue() ? TRUE : FALSE);
            case NULL -> raw(NULL);
            case NUMBER -> {
                switch (n.numberType()) {
                    case INT -> number(n.intValue());
                    case LONG -> number(n.longValue());
                    default -> tree(n);
                }
            }
            default -> tree(n);
        }
    }

    private void tree(JsonNode n) throws IOException {
        mapper.writeTree(generator, n);
        generator.flush();
    }

    private void room(int n) {
        if (bytes.length - count < n) {
            bytes = Arrays.copyOf(bytes, Math.max(count + n, bytes.length * 2));
        }
    }

    // The generator's output.

    @Override
    public void write(int b) {
        raw((char) (b & 0xff));
    }

    @Override
    public void write(byte[] b, int off, int len) {
        room(len);
        System.arraycopy(b, off, bytes, count, len);
        count += len;
    }
}

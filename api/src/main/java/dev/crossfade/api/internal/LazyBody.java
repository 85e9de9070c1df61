package dev.crossfade.api.internal;

import dev.crossfade.api.Job;
import dev.crossfade.api.codec.InvalidPayloadException;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.Function;

/**
 * The payload of a job whose worker class, jid, attempt and shadow flag travelled beside it (Kafka record headers),
 * decoded whole only when something reads another field, at most once per job, from any thread. A payload that does
 * not decode, or that disagrees with what travelled beside it, fails every read with the same
 * {@link InvalidPayloadException}. Not part of the public API.
 */
public final class LazyBody {
    private final byte[] payload;
    private final Function<byte[], Job> decoder;
    private final String fetchedFrom;
    private final String className;
    private final String jid;
    private final int attempt;
    private final boolean shadow;
    private volatile Job decoded;
    private volatile InvalidPayloadException fault;

    /**
     * @param fetchedFrom the queue the payload was fetched from, for the dead-set envelope of a payload that proves
     *                    invalid (the job's own {@code queue} is the payload's)
     */
    public LazyBody(
            byte[] payload,
            Function<byte[], Job> decoder,
            String fetchedFrom,
            String className,
            String jid,
            int attempt,
            boolean shadow) {
        this.payload = Objects.requireNonNull(payload, "payload");
        this.decoder = Objects.requireNonNull(decoder, "decoder");
        this.fetchedFrom = fetchedFrom;
        this.className = Objects.requireNonNull(className, "className");
        this.jid = Objects.requireNonNull(jid, "jid");
        this.attempt = attempt;
        this.shadow = shadow;
    }

    public byte[] payload() {
        return payload;
    }

    public String fetchedFrom() {
        return fetchedFrom;
    }

    public String className() {
        return className;
    }

    public String jid() {
        return jid;
    }

    public int attempt() {
        return attempt;
    }

    public boolean shadow() {
        return shadow;
    }

    /**
     * The whole job, decoded on the first call.
     *
     * @throws InvalidPayloadException (the same one on every call) when the payload is not a valid job or disagrees
     *                                 with the class, jid, attempt or shadow flag given
     */
    public Job job() {
        Job d = decoded;
        return d != null ? d : decode();
    }

    private synchronized Job decode() {
        if (decoded != null) {
            return decoded;
        }
        if (fault != null) {
            throw fault;
        }
        Job full;
        try {
            full = decoder.apply(payload);
        } catch (InvalidPayloadException e) {
            fault = e;
            throw e;
        } catch (RuntimeException | StackOverflowError e) {
            fault = new InvalidPayloadException("payload cannot be decoded: " + e, e);
            throw fault;
        }
        String differs = disagreement(full);
        if (differs != null) {
            fault = new InvalidPayloadException("record headers disagree with the payload: " + differs);
            throw fault;
        }
        decoded = full;
        return full;
    }

    private String disagreement(Job full) {
        if (!className.equals(full.className())) {
            return "class '" + className + "' vs '" + full.className() + "'";
        }
        if (!jid.equals(full.jid())) {
            return "jid '" + jid + "' vs '" + full.jid() + "'";
        }
        if (attempt != full.attempt()) {
            return "attempt " + attempt + " vs " + full.attempt();
        }
        if (shadow != full.shadow()) {
            return "shadow " + shadow + " vs " + full.shadow();
        }
        return null;
    }

    /** The decode's fault if the payload was read and found invalid; null when it is fine or was not read yet. */
    public InvalidPayloadException fault() {
        return fault;
    }

    /** Decodes the payload if it was not yet, and returns its fault, or null when it is a valid job. */
    public InvalidPayloadException check() {
        try {
            job();
            return null;
        } catch (InvalidPayloadException e) {
            return e;
        }
    }

    /** The whole job if it was decoded already, else null; never decodes. */
    public Job decodedOrNull() {
        return decoded;
    }

    /** Same payload and same facts beside it. */
    public boolean sameAs(LazyBody o) {
        return attempt == o.attempt
                && shadow == o.shadow
                && className.equals(o.className)
                && jid.equals(o.jid)
                && Arrays.equals(payload, o.payload);
    }
}

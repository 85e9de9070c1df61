package dev.crossfade.api.internal;

import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

/**
 * The one Jackson mapper Crossfade uses for job payloads. Not part of the public API.
 *
 * <p>Numbers keep their exact text (big integers and decimals survive a round trip), default typing stays off so a
 * payload can never name a class to instantiate, and unknown properties in typed args are an error the worker sees
 * rather than data silently ignored.
 */
public final class Json {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static {
        // Payload size is bounded by JobCodec; lift Jackson's own string cap to that order of magnitude.
        MAPPER.getFactory()
                .setStreamReadConstraints(StreamReadConstraints.builder()
                        .maxStringLength(64 * 1024 * 1024)
                        .maxNestingDepth(500)
                        .build());
    }

    private Json() {}

    public static ObjectMapper mapper() {
        return MAPPER;
    }
}

package dev.crossfade.kafka.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.codec.PayloadTooLargeException;
import java.util.Set;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.NetworkException;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.NotLeaderOrFollowerException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.Test;

/** Which produce failures end the retrying of an outcome write. */
class DurableSendTest {
    @Test
    void failuresThatTheSameRecordMeetsEveryTimeAreFinal() {
        assertTrue(DurableSend.isFinal(new RecordTooLargeException("too large")));
        assertTrue(DurableSend.isFinal(new InvalidRecordException("invalid")));
        assertTrue(DurableSend.isFinal(new TopicAuthorizationException(Set.of("t"))));
        assertTrue(DurableSend.isFinal(new SaslAuthenticationException("bad password")));
        assertTrue(DurableSend.isFinal(new SerializationException("cannot")));
        assertTrue(DurableSend.isFinal(new PayloadTooLargeException("job", 10, 5)));
    }

    @Test
    void failuresThatMayPassAreRetried() {
        assertFalse(DurableSend.isFinal(new TimeoutException("delivery timeout")));
        assertFalse(DurableSend.isFinal(new java.util.concurrent.TimeoutException()));
        assertFalse(DurableSend.isFinal(new NotEnoughReplicasException("1 of 3")));
        assertFalse(DurableSend.isFinal(new NotLeaderOrFollowerException("moved")));
        assertFalse(DurableSend.isFinal(new NetworkException("reset")));
    }

    @Test
    void aRefusalIsDescribedForTheDeadLettersMessage() {
        assertEquals(
                "record too large (The message is 2000000 bytes)",
                DurableSend.describe(new RecordTooLargeException("The message is 2000000 bytes")));
        assertEquals(
                "not authorized (Not authorized to access topics: [t])",
                DurableSend.describe(new TopicAuthorizationException(Set.of("t"))));
    }
}

package dev.crossfade.kafka;

import dev.crossfade.api.Job;
import dev.crossfade.kafka.internal.Hdr;
import java.time.Instant;
import java.util.Map;

/**
 * One record of a dead-letter topic: the dead job (with Sidekiq's error fields) and where it sits.
 *
 * @param job     the dead job; null when the record is not a job. Of class
 *                {@value dev.crossfade.api.execution.ExecutionCore#INVALID_PAYLOAD_CLASS} for a payload that was not
 *                a job (its first 64 Ki chars are the one arg), of class {@value #TRUNCATED_JOB_CLASS} for a job whose
 *                own record could not be written (args: its class, a preview of its args, the payload's size in
 *                bytes; the error message names the fault)
 * @param headers the record's headers as text: {@code source-topic}, {@code source-partition},
 *                {@code source-offset}, {@code attempts}, {@code error-class}, {@code error-message},
 *                {@code crossfade-job} ({@code <attempt> <jid> <class>}; or {@code class}, {@code jid} and
 *                {@code attempt} from earlier versions or for a jid containing a space); and {@code original-class}
 *                on a truncated envelope
 */
public record DeadLetter(
        Job job, String topic, int partition, long offset, Instant timestamp, Map<String, String> headers) {
    /**
     * Class of the stand-in dead-lettered for a job whose own retry or dead letter the broker can never take (too
     * large, refused): it keeps the job's identity and the reason, not the job, so it is never replayed.
     */
    public static final String TRUNCATED_JOB_CLASS = "crossfade.TruncatedJob";

    /** The dead job's jid: the job's, else the one its record's headers name; null when neither does. */
    public String jid() {
        if (job != null) {
            return job.jid();
        }
        if (headers.containsKey(Hdr.JOB)) {
            Hdr.JobFields fields = Hdr.jobFields(headers.get(Hdr.JOB));
            return fields == null ? null : fields.jid();
        }
        return headers.get(Hdr.JID);
    }
}

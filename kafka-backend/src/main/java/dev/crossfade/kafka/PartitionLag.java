package dev.crossfade.kafka;

import java.time.Duration;

/**
 * How far the workers are behind on one partition of a queue's topic.
 *
 * @param committedOffset the group's committed offset (group mode) or share-partition start offset (share mode);
 *                        -1 when the group has none yet
 * @param offsetLag       records between {@code committedOffset} and {@code endOffset}; in share mode, those of them
 *                        not yet acknowledged, as the broker counts them
 * @param timeLag         age of the oldest unprocessed record (the one at {@code committedOffset}); zero when caught
 *                        up, null when it could not be read
 */
public record PartitionLag(
        String topic, int partition, long endOffset, long committedOffset, long offsetLag, Duration timeLag) {}

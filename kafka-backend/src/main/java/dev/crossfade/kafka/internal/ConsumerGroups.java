package dev.crossfade.kafka.internal;

import dev.crossfade.kafka.KafkaBackendConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.slf4j.LoggerFactory;

/**
 * What a worker runtime sets up on its groups before the first member joins: group-level dynamic configs, and the
 * committed offsets taken over from the single group of an earlier version. Thread-safe.
 */
public final class ConsumerGroups {
    private final Admin admin;
    private final KafkaBackendConfig config;
    private final Topics topics;

    public ConsumerGroups(Admin admin, KafkaBackendConfig config, Topics topics) {
        this.admin = admin;
        this.config = config;
        this.topics = topics;
    }

    /**
     * The upgrade from one group for every queue: when {@code queue}'s own groups have no committed offsets yet and
     * the groups of an earlier version ({@code <groupId>}, group mode, and {@code <groupId>.scheduler}) have some for
     * its topics, copies them over and deletes them there, so the queue's workers go on where the old ones stopped,
     * once. Refuses while an old group still has members: both would run the same jobs.
     */
    public void adoptLegacyOffsets(String queue) {
        if (config.mode() == KafkaBackendConfig.Mode.GROUP) {
            adopt(config.groupId(), config.workerGroup(queue), List.of(topics.jobs(queue)));
        }
        adopt(config.groupId() + ".scheduler", config.schedulerGroup(queue), topics.delayTopics(queue));
    }

    private void adopt(String legacy, String group, List<String> topicNames) {
        try {
            Map<TopicPartition, OffsetAndMetadata> mine = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS);
            if (mine.keySet().stream().anyMatch(tp -> topicNames.contains(tp.topic()))) {
                return;
            }
            Map<TopicPartition, OffsetAndMetadata> old = new HashMap<>();
            admin.listConsumerGroupOffsets(legacy)
                    .partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS)
                    .forEach((tp, o) -> {
                        if (o != null && topicNames.contains(tp.topic())) {
                            old.put(tp, new OffsetAndMetadata(o.offset()));
                        }
                    });
            if (old.isEmpty()) {
                return;
            }
            var members = admin.describeConsumerGroups(List.of(legacy))
                    .describedGroups()
                    .get(legacy)
                    .get(30, TimeUnit.SECONDS)
                    .members();
            if (!members.isEmpty()) {
                throw new IllegalStateException("consumer group " + legacy + " of an earlier Crossfade version still "
                        + "has " + members.size() + " member(s): stop those workers first; these take over its "
                        + "committed offsets of " + topicNames + " as group " + group);
            }
            admin.alterConsumerGroupOffsets(group, old).all().get(30, TimeUnit.SECONDS);
            admin.deleteConsumerGroupOffsets(legacy, old.keySet()).all().get(30, TimeUnit.SECONDS);
            LoggerFactory.getLogger(ConsumerGroups.class)
                    .info(
                            "took over the committed offsets of {} from group {} "
                                    + "(an earlier version's) as group {}",
                            topicNames,
                            legacy,
                            group);
        } catch (IllegalStateException e) {
            throw e;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException(
                    "cannot take over the committed offsets of " + topicNames + " from group " + legacy + " as group "
                            + group + ": " + cause,
                    cause);
        }
    }

    /** Sets group-level dynamic configs: {@code defaults}, then the configured ones (which win). */
    public void applyConfigs(String groupId, Map<String, String> defaults) {
        apply(groupId, defaults, true);
    }

    /** The scheduler's group: only the configured consumer-group settings apply ({@code share.*} would be refused). */
    public void applySchedulerConfigs(String groupId) {
        Map<String, String> schedulerConfigs = new HashMap<>();
        config.groupConfigs().forEach((k, v) -> {
            if (k.startsWith("consumer.")) {
                schedulerConfigs.put(k, v);
            }
        });
        apply(groupId, schedulerConfigs, false);
    }

    private void apply(String groupId, Map<String, String> defaults, boolean includeConfigured) {
        Map<String, String> all = new LinkedHashMap<>(defaults);
        if (includeConfigured) {
            all.putAll(config.groupConfigs());
        }
        if (all.isEmpty()) {
            return;
        }
        List<AlterConfigOp> ops = new ArrayList<>();
        all.forEach((k, v) -> ops.add(new AlterConfigOp(new ConfigEntry(k, v), AlterConfigOp.OpType.SET)));
        try {
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, groupId), ops))
                    .all()
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw new IllegalStateException(
                    "cannot set group configs " + all + " on group " + groupId + ": " + cause, cause);
        }
    }
}

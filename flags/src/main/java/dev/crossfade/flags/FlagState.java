package dev.crossfade.flags;

/**
 * What the flags do right now, as {@code crossfade status} and the dashboard show it, whatever the flag source:
 * estimated by evaluating sample job contexts (not counted as decisions), so a rollout, a targeted kill switch or a
 * migration stage reads as it routes.
 *
 * @param killSwitch  whether the kill switch is on for any sample job (it sends those jobs to Redis, unshadowed)
 * @param kafkaShare  share of sample jobs routed to Kafka, 0..1
 * @param shadowShare share of sample jobs given a shadow copy, 0..1
 * @param migrationStage the migration flag's value for a fixed probe context (a stage, or what the flag holds instead);
 *                       null when no migration flag is configured
 */
public record FlagState(boolean killSwitch, double kafkaShare, double shadowShare, String migrationStage) {}

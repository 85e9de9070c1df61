package dev.crossfade.spring.boot;

import dev.crossfade.flags.FlagState;
import dev.crossfade.flags.RoutingFlags;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.actuate.info.InfoContributor;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Adds {@code crossfade} to the actuator's {@code info} endpoint: where the flags come from and how they split
 * traffic right now (Kafka share, shadow share, kill switch, migration stage), as {@code crossfade status} shows it.
 */
@AutoConfiguration(after = CrossfadeAutoConfiguration.class)
@ConditionalOnClass(InfoContributor.class)
public class CrossfadeInfoAutoConfiguration {
    /** Sample contexts evaluated per read; the same estimate the command's status uses. */
    private static final int SAMPLES = 1_000;

    @Bean
    @ConditionalOnBean(RoutingFlags.class)
    @ConditionalOnMissingBean(name = "crossfadeInfoContributor")
    InfoContributor crossfadeInfoContributor(RoutingFlags flags) {
        return builder -> {
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("flagSource", flags.config().source().describe());
            FlagState state = flags.state(SAMPLES);
            info.put("kafkaShare", state.kafkaShare());
            info.put("shadowShare", state.shadowShare());
            info.put("killSwitch", state.killSwitch());
            if (state.migrationStage() != null) {
                info.put("migrationStage", state.migrationStage());
            }
            builder.withDetail("crossfade", info);
        };
    }
}

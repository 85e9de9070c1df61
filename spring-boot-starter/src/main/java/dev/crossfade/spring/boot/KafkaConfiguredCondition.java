package dev.crossfade.spring.boot;

import dev.crossfade.config.Setting;
import java.util.List;
import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/**
 * Matches when the application uses Kafka: {@code crossfade.kafka.bootstrap} is set, or
 * {@code crossfade.workers.backends} names kafka (it does by default, as for the command). An application that
 * names only redis opens no Kafka client at all.
 */
final class KafkaConfiguredCondition extends SpringBootCondition {

    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
        Binder binder = Binder.get(context.getEnvironment());
        if (binder.bind("crossfade.kafka.bootstrap", String.class).isBound()) {
            return ConditionOutcome.match("crossfade.kafka.bootstrap is set");
        }
        List<String> backends = binder.bind("crossfade.workers.backends", Bindable.listOf(String.class))
                .orElse(List.of(Setting.find("workers.backends").defaultValue().split(",")));
        return backends.stream().anyMatch(b -> b.trim().equalsIgnoreCase("kafka"))
                ? ConditionOutcome.match("crossfade.workers.backends names kafka")
                : ConditionOutcome.noMatch(
                        "crossfade.workers.backends does not name kafka and " + "crossfade.kafka.bootstrap is not set");
    }
}

package dev.crossfade.kafka;

import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.tck.BackendFixture;
import dev.crossfade.tck.JobQueueContract;
import org.junit.jupiter.api.extension.ExtendWith;

/** The backend contract in consumer-group mode, on the JVM's shared broker. */
@ExtendWith(CrossfadeServices.class)
class KafkaGroupContractTest extends JobQueueContract {
    private final KafkaService kafka;

    KafkaGroupContractTest(KafkaService kafka) {
        this.kafka = kafka;
    }

    @Override
    protected BackendFixture createFixture(String namespace) {
        return new KafkaFixture(
                KafkaBackend.create(
                        KafkaFixture.config(kafka.bootstrapServers(), namespace, KafkaBackendConfig.Mode.GROUP)
                                .build()),
                kafka);
    }
}

package dev.crossfade.kafka;

import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.tck.BackendFixture;
import dev.crossfade.tck.JobQueueContract;
import org.junit.jupiter.api.extension.ExtendWith;

/** The backend contract in share-group mode (KIP-932), on the JVM's shared broker. */
@ExtendWith(CrossfadeServices.class)
class KafkaShareContractTest extends JobQueueContract {
    private final KafkaService kafka;

    KafkaShareContractTest(KafkaService kafka) {
        this.kafka = kafka;
    }

    @Override
    protected BackendFixture createFixture(String namespace) {
        return new KafkaFixture(
                KafkaBackend.create(
                        KafkaFixture.config(kafka.bootstrapServers(), namespace, KafkaBackendConfig.Mode.SHARE)
                                .build()),
                kafka);
    }
}

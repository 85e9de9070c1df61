package dev.crossfade.redis;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.TestAbortedException;

/**
 * Where the Sidekiq 8 kit is absent (a machine without the shared kit), its tests are skipped with the reason, as
 * {@code MixedFleetWorkTest}'s Sidekiq 8 case is; {@code .ci/run} is what makes sure CI has it.
 */
class RubyKitTest {
    @Test
    void aMissingSidekiq8KitSkipsWithTheReason(@TempDir Path dir) {
        String before = System.getProperty("crossfade.sidekiq8.kit");
        System.setProperty("crossfade.sidekiq8.kit", dir.resolve("sidekiq8").toString());
        try {
            TestAbortedException e = assertThrows(TestAbortedException.class, Ruby.Kit::kit8);
            assertTrue(e.getMessage().contains(dir.resolve("sidekiq8").toString()), e.getMessage());
            assertTrue(e.getMessage().contains("SIDEKIQ8_KIT"), e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty("crossfade.sidekiq8.kit");
            } else {
                System.setProperty("crossfade.sidekiq8.kit", before);
            }
        }
    }
}

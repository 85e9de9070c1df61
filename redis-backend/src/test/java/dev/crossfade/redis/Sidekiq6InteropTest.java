package dev.crossfade.redis;

/** The interop scenarios against Debian's Sidekiq 6.4 on MRI. */
class Sidekiq6InteropTest extends SidekiqInteropTest {
    @Override
    Ruby.Kit kit() {
        return Ruby.Kit.SIDEKIQ6;
    }
}

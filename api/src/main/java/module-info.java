/**
 * Crossfade's contract: the job envelope and its codec, {@code JobQueue}, the worker interfaces, the execution core and
 * the in-memory backend for application tests. {@code dev.crossfade.api.internal} (the shared Jackson mapper, the
 * lazily decoded form of a job) is not exported.
 */
module dev.crossfade.api {
    // Job exposes Jackson's JsonNode (args, extra keys), so an application reading them needs Jackson too.
    requires transitive com.fasterxml.jackson.databind;
    requires org.slf4j;

    exports dev.crossfade.api;
    exports dev.crossfade.api.activejob;
    exports dev.crossfade.api.codec;
    exports dev.crossfade.api.execution;
    exports dev.crossfade.api.testing;
    exports dev.crossfade.api.worker;

    // WorkerRegistry.Builder#discover finds workers through ServiceLoader.
    uses dev.crossfade.api.worker.WorkerProvider;
}

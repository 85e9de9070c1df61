package dev.crossfade.redis.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.redis.RedisBackendConfig;
import dev.crossfade.redis.SidekiqVersion;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;

/**
 * Which Sidekiq generation Crossfade writes for, and the codecs that write it: the configured
 * {@link SidekiqVersion}, or the oldest generation among the Ruby processes registered in {@code processes} (so every
 * Ruby process reads what Java writes). Detection looks once at first use and, while no Ruby process is registered,
 * again at most once a minute; it never fails a caller (Redis unreachable: the current format stays). Thread-safe.
 */
public final class WireFormat {
    private static final Logger log = LoggerFactory.getLogger(WireFormat.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long RECHECK_NANOS = TimeUnit.MINUTES.toNanos(1);

    private record Codecs(SidekiqVersion version, JobCodec enqueue, JobCodec unlimited) {}

    private final UnifiedJedis redis;
    private final Keys keys;
    private final JobCodec base;
    private final String where;
    private volatile Codecs codecs;
    /** While detecting without a result: when to look again (System.nanoTime); Long.MIN_VALUE before the first look. */
    private volatile long nextLookNanos = Long.MIN_VALUE;

    private boolean toldNone;

    public WireFormat(UnifiedJedis redis, Keys keys, RedisBackendConfig config) {
        this.redis = redis;
        this.keys = keys;
        this.base = config.codec();
        this.where = config.redactedUrl();
        SidekiqVersion v = config.sidekiqVersion();
        this.codecs = v == SidekiqVersion.DETECT ? make(null) : make(v);
        if (v != SidekiqVersion.DETECT) {
            nextLookNanos = Long.MAX_VALUE;
        }
    }

    private Codecs make(SidekiqVersion v) {
        JobCodec.Timestamps t = v == null ? base.timestamps() : v.timestamps();
        return new Codecs(
                v,
                JobCodec.builder()
                        .maxPayloadBytes(base.maxPayloadBytes())
                        .timestamps(t)
                        .build(),
                JobCodec.builder()
                        .maxPayloadBytes(Integer.MAX_VALUE)
                        .timestamps(t)
                        .build());
    }

    /** Encodes jobs at enqueue, with the configured payload limit. */
    public JobCodec codec() {
        lookIfDue();
        return codecs.enqueue;
    }

    /** Encodes retry and dead entries: no limit, so an error message never makes a job unstorable. */
    public JobCodec unlimited() {
        lookIfDue();
        return codecs.unlimited;
    }

    /** The generation written for, or {@link SidekiqVersion#DETECT} while none is known. */
    public SidekiqVersion version() {
        lookIfDue();
        SidekiqVersion v = codecs.version;
        return v == null ? SidekiqVersion.DETECT : v;
    }

    private void lookIfDue() {
        long next = nextLookNanos;
        if (next == Long.MAX_VALUE || next != Long.MIN_VALUE && System.nanoTime() - next < 0) {
            return;
        }
        synchronized (this) {
            next = nextLookNanos;
            if (next == Long.MAX_VALUE || next != Long.MIN_VALUE && System.nanoTime() - next < 0) {
                return;
            }
            nextLookNanos = System.nanoTime() + RECHECK_NANOS;
            SidekiqVersion found;
            try {
                found = detect();
            } catch (JedisException | ClassCastException e) {
                log.debug("cannot look for Ruby Sidekiq processes at {} yet: {}", where, e.toString());
                return;
            }
            if (found == null) {
                if (!toldNone) {
                    toldNone = true;
                    log.info(
                            "no Ruby Sidekiq process is registered at {}: writing job timestamps as {} until one is "
                                    + "(set redis.sidekiq-version / sidekiqVersion to choose)",
                            where,
                            base.timestamps() == JobCodec.Timestamps.MILLISECONDS
                                    ? "integer milliseconds (Sidekiq 8)"
                                    : "float seconds (Sidekiq 6 and 7; Sidekiq 8 reads them too)");
                }
                return;
            }
            codecs = make(found);
            nextLookNanos = Long.MAX_VALUE;
            log.info("Ruby Sidekiq {} found registered at {}: writing jobs as Sidekiq {} does", found, where, found);
        }
    }

    /** The oldest generation among registered Ruby processes, or null when none is registered. */
    private SidekiqVersion detect() {
        List<String> ids = new ArrayList<>(redis.smembers(keys.processes()));
        if (ids.isEmpty()) {
            return null;
        }
        List<Response<String>> infos = new ArrayList<>(ids.size());
        try (AbstractPipeline p = redis.pipelined()) {
            for (String id : ids) {
                infos.add(p.hget(keys.process(id), "info"));
            }
            p.sync();
        }
        int oldest = Integer.MAX_VALUE;
        for (Response<String> r : infos) {
            int major = major(r.get());
            if (major > 0) {
                oldest = Math.min(oldest, major);
            }
        }
        return oldest == Integer.MAX_VALUE ? null : SidekiqVersion.ofMajor(oldest);
    }

    /**
     * The major version in a process's {@code info} JSON; 0 when it is not a Ruby Sidekiq's (Crossfade's own). Sidekiq
     * 6 writes no version: a process without one is taken for Sidekiq 6.
     */
    static int major(String info) {
        if (info == null) {
            return 0;
        }
        try {
            JsonNode version = JSON.readTree(info).path("version");
            if (version.isMissingNode()) {
                return 6;
            }
            String v = version.isTextual() ? version.textValue() : "";
            int end = 0;
            while (end < v.length() && end < 4 && Character.isDigit(v.charAt(end))) {
                end++;
            }
            return end == 0 ? 0 : Integer.parseInt(v.substring(0, end));
        } catch (java.io.IOException | RuntimeException e) {
            return 0;
        }
    }
}

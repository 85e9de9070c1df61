package dev.crossfade.config;

import java.util.List;
import java.util.Locale;

/**
 * One configuration key: its YAML path, the environment variable that overrides it, its default and meaning. The
 * list in {@link #ALL} is the single source for loading, validation and the README table
 * ({@code crossfade config keys}).
 *
 * @param key         dotted YAML path
 * @param type        value type, for validation and docs
 * @param defaultValue default as written in YAML, or null when unset
 * @param description what it does
 */
public record Setting(String key, Type type, String defaultValue, String description) {

    /** Value types. A SECRET is never printed; a URL is printed without its password. */
    public enum Type {
        STRING,
        SECRET,
        URL,
        INT,
        DURATION,
        BOOLEAN,
        ENUM,
        LIST,
        PATH
    }

    /** The environment variable that overrides this key: {@code CROSSFADE_} + the key in upper snake case. */
    public String env() {
        return "CROSSFADE_" + key.replace('.', '_').replace('-', '_').toUpperCase(Locale.ROOT);
    }

    /** Whether the value is never printed. */
    public boolean secret() {
        return type == Type.SECRET;
    }

    /** Every key Crossfade reads. */
    public static final List<Setting> ALL = List.of(
            new Setting(
                    "redis.url",
                    Type.URL,
                    "redis://127.0.0.1:6379/0",
                    "Redis URL, `redis://host:port/db`; `rediss://` for TLS; an ACL user and password go before the "
                            + "host as `user:password@`. Behind Sentinel: "
                            + "`redis+sentinel://host:port,host:port/<master name>[/db]` (`rediss+sentinel://` for TLS "
                            + "to the master), the user and password being the master's"),
            new Setting(
                    "redis.wait-replicas",
                    Type.INT,
                    "0",
                    "after each enqueue and each outcome write, WAIT until this many replicas have it, so a failover "
                            + "cannot drop an acknowledged enqueue (0: off). With fewer replicas connected, enqueues "
                            + "fail and outcome writes wait"),
            new Setting(
                    "redis.wait-timeout",
                    Type.DURATION,
                    "1s",
                    "how long one WAIT of redis.wait-replicas waits for the replicas (below 3s, the socket "
                            + "timeout)"),
            new Setting("redis.namespace", Type.STRING, "", "key prefix for every Redis key (Sidekiq's namespace)"),
            new Setting(
                    "redis.strict-maxmemory",
                    Type.BOOLEAN,
                    "false",
                    "refuse to start when Redis `maxmemory-policy` is not `noeviction` (otherwise: a loud warning)"),
            new Setting(
                    "redis.sidekiq-version",
                    Type.ENUM,
                    "detect",
                    "the Ruby Sidekiq Crossfade writes for: `8` writes job timestamps as integer milliseconds, `6` "
                            + "and `7` as float seconds; `detect` follows the oldest Ruby Sidekiq registered in Redis "
                            + "(float seconds while none is)"),
            new Setting(
                    "redis.heartbeat-ttl",
                    Type.DURATION,
                    "60s",
                    "how long a worker process may go without a heartbeat before its peers recover its in-progress "
                            + "jobs (Sidekiq's process TTL); it beats every sixth of this, at most every 10s; at least "
                            + "2s"),
            new Setting(
                    "kafka.bootstrap",
                    Type.STRING,
                    "127.0.0.1:9092",
                    "Kafka bootstrap servers, `host:port` comma-separated"),
            new Setting("kafka.topic-prefix", Type.STRING, "crossfade", "topic per queue: `<prefix>.<queue>`"),
            new Setting(
                    "kafka.mode",
                    Type.ENUM,
                    "group",
                    "`group` (consumer group, ordered as `kafka.ordering` says) or `share` (share group, KIP-932 queues)"),
            new Setting(
                    "kafka.ordering",
                    Type.ENUM,
                    "key",
                    "group mode: `key` (jobs sharing a routing key, else a jid, run in enqueue order; "
                            + "`workers.concurrency` jobs run at once), `partition` (one job at a time per partition) "
                            + "or `none` (no order)"),
            new Setting(
                    "kafka.max-recoveries",
                    Type.INT,
                    "3",
                    "group mode: a job in flight in this many worker processes that died (the last time running "
                            + "alone) goes to the DLQ as a poison pill (at least 2)"),
            new Setting(
                    "kafka.partitions",
                    Type.INT,
                    "6",
                    "partitions of topics created on demand (at least the consumers you expect)"),
            new Setting(
                    "kafka.replication",
                    Type.INT,
                    null,
                    "replication factor of topics created on demand; unset: the broker's default.replication.factor "
                            + "(min.insync.replicas is set to 2 when it is 3 or more)"),
            new Setting(
                    "kafka.session-timeout",
                    Type.DURATION,
                    null,
                    "consumer group session timeout (group config consumer.session.timeout.ms): how long the "
                            + "partitions of a worker that died wait before another takes them; unset: the broker's "
                            + "(45s by default, not below its group.consumer.min.session.timeout.ms); keep it at least "
                            + "3 times the heartbeat interval (5s by default)"),
            new Setting(
                    "kafka.security-protocol",
                    Type.ENUM,
                    "PLAINTEXT",
                    "how every Kafka client connects: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`"),
            new Setting(
                    "kafka.sasl-mechanism",
                    Type.ENUM,
                    "SCRAM-SHA-512",
                    "SASL mechanism when the protocol is SASL_*: `SCRAM-SHA-512`, `SCRAM-SHA-256` or `PLAIN`"),
            new Setting("kafka.sasl-username", Type.STRING, null, "SASL user; required when the protocol is SASL_*"),
            new Setting(
                    "kafka.sasl-password",
                    Type.SECRET,
                    null,
                    "SASL password; required when the protocol is SASL_* (best set in the environment)"),
            new Setting(
                    "kafka.ssl-truststore",
                    Type.PATH,
                    null,
                    "trust store (PKCS12 or JKS) with the CA of the brokers' certificates; unset: the JVM's default "
                            + "trust store"),
            new Setting(
                    "kafka.ssl-truststore-password",
                    Type.SECRET,
                    null,
                    "password of kafka.ssl-truststore, if it has one"),
            new Setting(
                    "flags.file",
                    Type.PATH,
                    ".crossfade/flags.json",
                    "local flags file (LaunchDarkly file-data format), used when no SDK key is set"),
            new Setting(
                    "flags.sdk-key",
                    Type.SECRET,
                    null,
                    "LaunchDarkly server SDK key; also read from `LD_SDK_KEY`. When set, flags come from LaunchDarkly"),
            new Setting(
                    "flags.relay-uri",
                    Type.URL,
                    null,
                    "LaunchDarkly Relay Proxy URL: streaming, polling and events all go there"),
            new Setting(
                    "flags.stream-uri",
                    Type.URL,
                    null,
                    "LaunchDarkly streaming service (flag changes pushed to the SDK); unset: flags.relay-uri, else "
                            + "LaunchDarkly's `https://stream.launchdarkly.com`"),
            new Setting(
                    "flags.base-uri",
                    Type.URL,
                    null,
                    "LaunchDarkly polling service (the SDK's base URI); unset: flags.relay-uri, else LaunchDarkly's "
                            + "`https://app.launchdarkly.com`"),
            new Setting(
                    "flags.events-uri",
                    Type.URL,
                    null,
                    "LaunchDarkly events service (evaluation counts, contexts, migration ops); unset: "
                            + "flags.relay-uri, else LaunchDarkly's `https://events.launchdarkly.com`"),
            new Setting("flags.route-flag", Type.STRING, "crossfade-route", "string flag: `redis` or `kafka`"),
            new Setting(
                    "flags.kill-switch-flag",
                    Type.STRING,
                    "crossfade-kill-switch",
                    "boolean flag: true sends everything to Redis"),
            new Setting(
                    "flags.shadow-flag",
                    Type.STRING,
                    "crossfade-shadow",
                    "boolean flag (percentage rollout): true adds a shadow copy on the other backend"),
            new Setting(
                    "flags.migration-flag",
                    Type.STRING,
                    null,
                    "LaunchDarkly migration flag used instead of route and shadow flags"),
            new Setting("flags.start-wait", Type.DURATION, "5s", "how long start-up waits for flags"),
            new Setting(
                    "flags.api-token",
                    Type.SECRET,
                    null,
                    "LaunchDarkly REST API access token (writer role on the route and kill-switch flags); when set, "
                            + "`crossfade ramp` changes those flags in LaunchDarkly; unset under LaunchDarkly, a "
                            + "rollback holds routers on Redis through Redis alone and a ramp cannot start"),
            new Setting(
                    "flags.api-uri",
                    Type.URL,
                    "https://app.launchdarkly.com",
                    "LaunchDarkly REST API, for flags.api-token"),
            new Setting("flags.project", Type.STRING, "default", "LaunchDarkly project key of the flags"),
            new Setting(
                    "flags.environment",
                    Type.STRING,
                    "production",
                    "LaunchDarkly environment key the SDK key belongs to"),
            new Setting(
                    "router.kafka-timeout",
                    Type.DURATION,
                    "2s",
                    "longest a Kafka enqueue may take before the job goes to Redis"),
            new Setting(
                    "workers.run-once-lease",
                    Type.DURATION,
                    "2m",
                    "how long a running job holds its run-once claim; longer than the slowest job (a copy of a job "
                            + "whose worker died waits this long before it runs)"),
            new Setting(
                    "workers.run-once-memory",
                    Type.DURATION,
                    "1h",
                    "how long a finished job is remembered by the run-once guard; longer than the worst queue lag"),
            new Setting("workers.queues", Type.LIST, "default", "queues to work, comma-separated"),
            new Setting("workers.concurrency", Type.INT, "10", "worker threads per backend"),
            new Setting("workers.backends", Type.LIST, "redis,kafka", "backends to consume from: redis, kafka or both"),
            new Setting("workers.jars", Type.LIST, "", "jars whose workers are found through ServiceLoader"),
            new Setting(
                    "workers.providers",
                    Type.LIST,
                    "",
                    "WorkerProvider classes to load by name from the classpath or workers.jars, comma-separated "
                            + "(for jars without a META-INF/services entry)"),
            new Setting(
                    "workers.shutdown-timeout",
                    Type.DURATION,
                    "25s",
                    "how long a stopping worker waits for running jobs before returning them to their queue"),
            new Setting(
                    "ramp.steps",
                    Type.LIST,
                    "1,5,25,50,100",
                    "Kafka percentages a guarded rollout (`crossfade ramp`) goes through, rising, each above 0 and at "
                            + "most 100"),
            new Setting(
                    "ramp.hold",
                    Type.DURATION,
                    "10m",
                    "least time at each step; a step advances once it has passed and the failure test has decided "
                            + "that Kafka is not worse"),
            new Setting(
                    "ramp.failure-margin",
                    Type.STRING,
                    "2",
                    "percentage points by which Kafka's failure rate may exceed Redis's for the same queues and "
                            + "classes; a sequential test (SPRT, 1% false alarms, 5% misses) decides, so a breach is "
                            + "caught after a handful of jobs and a pass needs about 150 clean ones at 2"),
            new Setting(
                    "ramp.latency-margin",
                    Type.DURATION,
                    "1s",
                    "how much Kafka's enqueue-to-start p99 may exceed Redis's for the same queues and classes"),
            new Setting(
                    "ramp.max-kafka-lag",
                    Type.DURATION,
                    "30s",
                    "largest Kafka time lag (age of the oldest unprocessed job) of any ramped queue"),
            new Setting(
                    "ramp.max-fallback-rate",
                    Type.STRING,
                    "1",
                    "largest percentage of Kafka-routed jobs that fell back to Redis because Kafka failed"),
            new Setting(
                    "ramp.max-shadow-mismatch-rate",
                    Type.STRING,
                    "0.1",
                    "largest percentage of compared shadow pairs that disagree (when shadowing is on)"),
            new Setting(
                    "ramp.min-jobs",
                    Type.INT,
                    "20",
                    "Kafka jobs (or shadow pairs) a step needs before the latency, fallback and mismatch guardrails "
                            + "judge it"),
            new Setting("http.bind", Type.STRING, "127.0.0.1", "address of /metrics, /health and the dashboard"),
            new Setting("http.port", Type.INT, "9400", "port of /metrics, /health and the dashboard (0: none)"),
            new Setting(
                    "http.token",
                    Type.SECRET,
                    null,
                    "token required to change flags from the dashboard (unset: read-only dashboard)"),
            new Setting(
                    "health.timeout",
                    Type.DURATION,
                    "2s",
                    "longest a check of Redis or Kafka may take before that backend counts as down; `/health`, "
                            + "`/metrics` and `crossfade status` answer within about this even when a server hangs"));

    /** The setting for a key, or null. */
    public static Setting find(String key) {
        for (Setting s : ALL) {
            if (s.key.equals(key)) {
                return s;
            }
        }
        return null;
    }
}

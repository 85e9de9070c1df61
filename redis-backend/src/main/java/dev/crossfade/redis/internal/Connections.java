package dev.crossfade.redis.internal;

import dev.crossfade.redis.RedisBackendConfig;
import java.util.LinkedHashSet;
import org.apache.commons.pool2.PooledObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.Connection;
import redis.clients.jedis.ConnectionFactory;
import redis.clients.jedis.ConnectionPoolConfig;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisSentinelClient;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.providers.ConnectionProvider;
import redis.clients.jedis.providers.PooledConnectionProvider;
import redis.clients.jedis.util.JedisURIHelper;

/**
 * The backend's pooled Jedis client and the size of its pool. Unless the configuration fixes {@code poolSize}, the
 * pool grows by what a worker runtime can hold at once when it starts ({@link #PER_RUNTIME} plus one per worker
 * thread, which may run the run-once guard or use the client itself) and shrinks again when it stops, on top of
 * {@link #BASE} for producers, the router and admin reads. A pool smaller than that makes threads queue for a
 * connection, and a fetch or acknowledgement that waits past the pool's wait limit fails.
 *
 * <p>Behind Sentinel ({@link RedisUrl}) the client is Jedis's {@link RedisSentinelClient}: it asks the sentinels for
 * the master and, on their {@code +switch-master}, replaces its pool with one to the new master. That pool is built
 * from the same pool configuration object, which resizing changes too, so a failover keeps the current size.
 *
 * <p>The pool checks idle connections in the background. Jedis logs a failed check with a stack trace, every time, for
 * every idle connection: a Redis restart printed dozens. Here a failed check is one debug line; the runtime's loops
 * already report the outage once.
 */
public final class Connections {
    /** Connections for producers, the router's enqueues and admin reads. */
    public static final int BASE = 8;
    /** What a running worker runtime holds beside its worker threads: fetcher, acknowledger, heartbeat, poller, stop. */
    public static final int PER_RUNTIME = 5;

    private static final Logger log = LoggerFactory.getLogger(Connections.class);

    private final UnifiedJedis client;
    private final ConnectionPoolConfig pool;
    private final RedisBackendConfig config;
    private int reserved;

    public Connections(RedisBackendConfig config) {
        this.config = config;
        int size = config.poolSize() == 0 ? BASE : config.poolSize();
        this.pool = new ConnectionPoolConfig();
        pool.setMaxTotal(size);
        pool.setMaxIdle(size);
        pool.setMinIdle(0);
        pool.setMaxWait(config.connectTimeout().plus(config.socketTimeout()));
        this.client = RedisUrl.isSentinel(config.url()) ? sentinel(config, pool) : connect(config, pool);
    }

    public UnifiedJedis client() {
        return client;
    }

    /** A worker runtime with {@code concurrency} threads starts: grow an automatic pool for it, or check a fixed one. */
    public synchronized void reserve(int concurrency) {
        reserved += concurrency + PER_RUNTIME;
        int wanted = BASE + reserved;
        if (config.poolSize() == 0) {
            resize(wanted);
        } else if (wanted > config.poolSize()) {
            log.warn(
                    "the Redis pool of {} connection(s) (poolSize) is smaller than the {} the backend's running "
                            + "worker runtimes and producers can hold at once; threads will queue for connections, and "
                            + "fetches or acknowledgements that wait too long fail and are retried",
                    config.poolSize(),
                    wanted);
        }
    }

    /** A worker runtime stopped: shrink an automatic pool again. */
    public synchronized void release(int concurrency) {
        reserved = Math.max(0, reserved - concurrency - PER_RUNTIME);
        if (config.poolSize() == 0) {
            resize(BASE + reserved);
        }
    }

    private void resize(int size) {
        pool.setMaxTotal(size);
        pool.setMaxIdle(size);
        if (client instanceof RedisClient standalone) {
            standalone.getPool().setMaxTotal(size);
            standalone.getPool().setMaxIdle(size);
        } else if (client instanceof RedisSentinelClient sentineled) {
            for (var p : sentineled.getPrimaryNodesConnectionMap().values()) {
                p.setMaxTotal(size);
                p.setMaxIdle(size);
            }
        }
    }

    /** The client config shared by both kinds of client: timeouts, name, TLS options. */
    private static DefaultJedisClientConfig.Builder clientConfig(RedisBackendConfig config) {
        int socketMs = (int) config.socketTimeout().toMillis();
        DefaultJedisClientConfig.Builder client = DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis((int) config.connectTimeout().toMillis())
                .socketTimeoutMillis(socketMs)
                // A blocking fetch waits fetchBlockTimeout for a job; socketTimeout beyond that means a hung server.
                .blockingSocketTimeoutMillis(
                        socketMs + (int) config.fetchBlockTimeout().toMillis())
                .clientName("crossfade");
        if (config.sslOptions() != null) {
            client.sslOptions(config.sslOptions());
        }
        return client;
    }

    /** The Sentinel-following client: the master's address comes from the sentinels, the rest from the URL. */
    private static RedisSentinelClient sentinel(RedisBackendConfig config, ConnectionPoolConfig pool) {
        RedisUrl url = RedisUrl.parse(config.url());
        DefaultJedisClientConfig.Builder master =
                clientConfig(config).user(url.user()).password(url.password()).database(url.database());
        if (url.tls()) {
            master.ssl(true);
        }
        JedisClientConfig sentinels = DefaultJedisClientConfig.builder()
                .connectionTimeoutMillis((int) config.connectTimeout().toMillis())
                .socketTimeoutMillis((int) config.socketTimeout().toMillis())
                .clientName("crossfade-sentinel")
                .build();
        return RedisSentinelClient.builder()
                .masterName(url.masterName())
                .sentinels(new LinkedHashSet<>(url.sentinels()))
                .clientConfig(master.build())
                .sentinelClientConfig(sentinels)
                .poolConfig(pool)
                .build();
    }

    /**
     * The client, built from the URI with Jedis's own URI support (ACL user, password, database number,
     * {@code rediss://} TLS) plus our timeouts, pool size and quiet connection checks.
     */
    private static RedisClient connect(RedisBackendConfig config, ConnectionPoolConfig pool) {
        QuietClientBuilder builder = new QuietClientBuilder(JedisURIHelper.getHostAndPort(config.url()));
        builder.clientConfig(clientConfig(config).build()).fromURI(config.url()).poolConfig(pool);
        return builder.build();
    }

    /** Jedis's standalone client builder with {@link QuietConnectionFactory} in the pool. */
    private static final class QuietClientBuilder extends RedisClient.Builder {
        private final HostAndPort address;

        QuietClientBuilder(HostAndPort address) {
            this.address = address;
        }

        @Override
        protected ConnectionProvider createDefaultConnectionProvider() {
            return new PooledConnectionProvider(new QuietConnectionFactory(address, clientConfig), poolConfig);
        }
    }

    /** Checks an idle connection as Jedis does ({@code PING}), but reports a failed check in one debug line. */
    private static final class QuietConnectionFactory extends ConnectionFactory {
        QuietConnectionFactory(HostAndPort address, JedisClientConfig config) {
            super(address, config);
        }

        @Override
        public boolean validateObject(PooledObject<Connection> pooled) {
            Connection connection = pooled.getObject();
            try {
                return connection.isConnected() && connection.ping();
            } catch (RuntimeException e) {
                log.debug("an idle Redis connection failed its check and is replaced: {}", e.toString());
                return false;
            }
        }
    }
}

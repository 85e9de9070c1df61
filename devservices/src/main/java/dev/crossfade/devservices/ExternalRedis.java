package dev.crossfade.devservices;

import java.net.URI;
import java.util.Objects;

/** A Redis server someone else runs (named by {@code CROSSFADE_REDIS_URL}); this handle neither owns nor controls it. */
final class ExternalRedis implements RedisService {
    private final URI uri;

    ExternalRedis(URI uri) {
        this.uri = Objects.requireNonNull(uri, "uri");
        String scheme = uri.getScheme();
        if (!"redis".equals(scheme) && !"rediss".equals(scheme)) {
            throw new IllegalArgumentException("not a redis:// or rediss:// URL: " + uri);
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("no host in Redis URL: " + uri);
        }
    }

    @Override
    public URI uri() {
        return uri;
    }

    @Override
    public String host() {
        return uri.getHost();
    }

    @Override
    public int port() {
        return uri.getPort() > 0 ? uri.getPort() : 6379;
    }

    @Override
    public boolean isControllable() {
        return false;
    }

    @Override
    public void close() {
        // not ours to stop
    }

    @Override
    public String toString() {
        // never print credentials
        return "ExternalRedis[" + uri.getScheme() + "://" + host() + ":" + port() + "]";
    }
}

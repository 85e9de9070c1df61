package dev.crossfade.redis.internal;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import redis.clients.jedis.HostAndPort;

/**
 * A Sentinel URL, {@code redis+sentinel://[user:password@]host:port[,host:port...]/<master name>[/<db>]}
 * ({@code rediss+sentinel://} for TLS to the data nodes), taken apart: the sentinels to ask, the master's name, and
 * what the master is reached with. {@link java.net.URI} keeps several hosts only as a raw authority, so it is split
 * here.
 *
 * @param sentinels where Sentinel listens
 * @param masterName the name the sentinels monitor the master under ({@code sentinel monitor <name> ...})
 * @param user ACL user for the data nodes, or null
 * @param password password for the data nodes, or null
 * @param database database number
 * @param tls whether data nodes are reached over TLS
 */
public record RedisUrl(
        List<HostAndPort> sentinels, String masterName, String user, String password, int database, boolean tls) {

    /** Whether a URL names sentinels rather than a server. */
    public static boolean isSentinel(URI url) {
        String scheme = url.getScheme();
        return "redis+sentinel".equals(scheme) || "rediss+sentinel".equals(scheme);
    }

    /**
     * @throws IllegalArgumentException saying what is wrong, without the password
     */
    public static RedisUrl parse(URI url) {
        if (!isSentinel(url)) {
            throw new IllegalArgumentException("not a Sentinel URL: " + url.getScheme() + "://…");
        }
        String authority = url.getRawAuthority();
        if (authority == null || authority.isEmpty()) {
            throw new IllegalArgumentException("a Sentinel URL names its sentinels as host:port,host:port, e.g. "
                    + "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster");
        }
        String user = null;
        String password = null;
        int at = authority.lastIndexOf('@');
        if (at >= 0) {
            String info = authority.substring(0, at);
            authority = authority.substring(at + 1);
            int colon = info.indexOf(':');
            String u = decode(colon < 0 ? info : info.substring(0, colon));
            user = u.isEmpty() ? null : u;
            password = colon < 0 ? null : decode(info.substring(colon + 1));
        }
        List<HostAndPort> sentinels = new ArrayList<>();
        for (String hp : authority.split(",")) {
            int colon = hp.lastIndexOf(':');
            String host = colon < 0 ? hp : hp.substring(0, colon);
            int port;
            try {
                port = colon < 0 ? 26379 : Integer.parseInt(hp.substring(colon + 1));
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (host.isBlank() || port < 1 || port > 65535) {
                throw new IllegalArgumentException("a Sentinel URL names its sentinels as host:port (port 1..65535), "
                        + "comma-separated; '" + hp + "' is not one");
            }
            sentinels.add(new HostAndPort(host.startsWith("[") ? host.substring(1, host.length() - 1) : host, port));
        }
        String path = url.getPath() == null ? "" : url.getPath();
        String[] parts = path.startsWith("/") ? path.substring(1).split("/", -1) : new String[] {""};
        if (parts[0].isEmpty() || parts.length > 2) {
            throw new IllegalArgumentException("a Sentinel URL ends with the master's name and an optional database "
                    + "number, /mymaster or /mymaster/0; got '" + path + "'");
        }
        int db = 0;
        if (parts.length == 2) {
            if (!parts[1].matches("\\d{1,5}")) {
                throw new IllegalArgumentException(
                        "the database after the master's name must be a number such as /mymaster/0; got '" + path
                                + "'");
            }
            db = Integer.parseInt(parts[1]);
        }
        return new RedisUrl(
                List.copyOf(sentinels), parts[0], user, password, db, "rediss+sentinel".equals(url.getScheme()));
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "RedisUrl[sentinels=" + sentinels + ", master=" + masterName + ", db=" + database + "]";
    }
}

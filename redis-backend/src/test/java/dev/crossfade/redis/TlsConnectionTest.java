package dev.crossfade.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.LocalRedis;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.SslOptions;

/**
 * {@code rediss://} against a redis-server with TLS on, certificates from a throwaway CA made with openssl, and an ACL
 * user (the default user may only {@code PING}): enqueue and work over TLS as that user; a client that does not trust
 * the CA, one without the user and one with a wrong password are refused, and no message shows the password.
 */
class TlsConnectionTest {
    private static final String USER = "crossfade";
    /** As a deployment passes it: in the environment, not in the code. */
    private static final String PASSWORD = "acl-" + Long.toHexString(System.nanoTime()) + "-Pw";

    @Test
    void enqueueAndWorkOverTls(@TempDir Path dir) throws Exception {
        sh(
                dir,
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=test-ca",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt");
        sh(
                dir,
                "openssl",
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "server.key",
                "-out",
                "server.csr");
        java.nio.file.Files.writeString(dir.resolve("san.ext"), "subjectAltName=IP:127.0.0.1\n");
        sh(
                dir,
                "openssl",
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "san.ext",
                "-out",
                "server.crt");
        sh(
                dir,
                "keytool",
                "-importcert",
                "-noprompt",
                "-alias",
                "test-ca",
                "-file",
                "ca.crt",
                "-keystore",
                "trust.p12",
                "-storetype",
                "PKCS12",
                "-storepass",
                "changeit");
        int tlsPort;
        try (ServerSocket s = new ServerSocket(0)) {
            tlsPort = s.getLocalPort();
        }
        try (LocalRedis redis = LocalRedis.builder()
                .extraArgs(
                        "--tls-port",
                        Integer.toString(tlsPort),
                        "--tls-cert-file",
                        dir.resolve("server.crt").toString(),
                        "--tls-key-file",
                        dir.resolve("server.key").toString(),
                        "--tls-ca-cert-file",
                        dir.resolve("ca.crt").toString(),
                        "--tls-auth-clients",
                        "no",
                        "--user",
                        USER,
                        "on",
                        ">" + PASSWORD,
                        "~*",
                        "&*",
                        "+@all",
                        "--user",
                        "default",
                        "on",
                        "nopass",
                        "-@all",
                        "+ping")
                .build()
                .start()) {
            String url = "rediss://" + USER + ":" + PASSWORD + "@127.0.0.1:" + tlsPort;
            String plainUrl = "redis://" + USER + ":" + PASSWORD + "@127.0.0.1:" + redis.port();
            SslOptions trust = SslOptions.builder()
                    .truststore(dir.resolve("trust.p12").toFile(), "changeit".toCharArray())
                    .trustStoreType("PKCS12")
                    .build();
            try (RedisBackend backend = RedisBackend.create(TestConfigs.fast(java.net.URI.create(url), "tls")
                    .sslOptions(trust)
                    .build())) {
                assertTrue(
                        !backend.config().toString().contains(PASSWORD),
                        backend.config().toString());
                CountDownLatch ran = new CountDownLatch(1);
                String jid = backend.queue().enqueue(Job.of("Tls", 1));
                try (RedisWorkerRuntime workers = backend.workers(
                        ExecutionCore.builder(WorkerRegistry.builder()
                                        .register("Tls", (args, ctx) -> ran.countDown())
                                        .build())
                                .build(),
                        List.of("default"),
                        1)) {
                    workers.start();
                    assertTrue(ran.await(10, TimeUnit.SECONDS), "job " + jid + " ran over TLS");
                }
            }
            try (RedisClient plain = RedisClient.create(plainUrl)) {
                assertTrue(plain.get("tls:stat:processed") != null, "same server, seen over the plain port too");
            }
            for (String without : List.of(
                    "rediss://127.0.0.1:" + tlsPort,
                    "rediss://" + USER + ":wrong-" + PASSWORD + "@127.0.0.1:" + tlsPort)) {
                try (RedisBackend refused = RedisBackend.create(TestConfigs.fast(java.net.URI.create(without), "tls")
                        .sslOptions(trust)
                        .build())) {
                    dev.crossfade.api.EnqueueException e = assertThrows(
                            dev.crossfade.api.EnqueueException.class,
                            () -> refused.queue().enqueue(Job.of("Tls", 3)),
                            "without the ACL user's password the enqueue is refused");
                    assertTrue(
                            !e.getMessage().contains(PASSWORD)
                                    && !e.getMessage().contains("wrong-"),
                            e.getMessage());
                }
            }
            try (RedisBackend untrusting =
                    RedisBackend.create(RedisBackendConfig.custom().url(url).build())) {
                assertThrows(
                        dev.crossfade.api.EnqueueException.class,
                        () -> untrusting.queue().enqueue(Job.of("Tls", 2)),
                        "a server cert from an unknown CA is refused");
            }
            try (RedisClient plain = RedisClient.create(plainUrl)) {
                assertEquals(0, plain.llen("queue:default"));
            }
        }
    }

    private static void sh(Path dir, String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + out);
        }
    }
}

package io.inferencepam.e2e.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A real Keycloak (the {@code keycloak-quarkus-dist} from Maven Central, unpacked by the tests-e2e
 * build into {@code target/keycloak}) in dev mode on a free loopback port, with realm files imported
 * at start. Keycloak takes tens of seconds to start: use {@link #shared(List)} so one instance serves
 * the whole test run (it is stopped by a shutdown hook).
 *
 * <p>Java: Keycloak 26 wants a recent JDK; {@code PAM_KEYCLOAK_JAVA_HOME}, else
 * {@code /usr/lib/jvm/temurin-25-jdk-amd64} when present, else the JDK running the tests.
 */
public final class KeycloakServer implements AutoCloseable {
    private static KeycloakServer shared;
    /** Start-up takes 1-4 minutes on a busy 2-core build host. */
    private static final long START_SECONDS = 360;

    private final Path home;
    private final int port;
    private final Path log;
    private Process process;

    private KeycloakServer(Path home, int port) {
        this.home = home;
        this.port = port;
        this.log = home.resolve("pam-test-keycloak.log");
    }

    /** The one instance of this JVM, started on first use with these realm files. */
    public static synchronized KeycloakServer shared(List<Path> realmFiles) throws IOException, InterruptedException {
        if (shared == null) {
            KeycloakServer k = start(realmFiles);
            Runtime.getRuntime().addShutdownHook(new Thread(k::close));
            shared = k;
        }
        return shared;
    }

    public static KeycloakServer start(List<Path> realmFiles) throws IOException, InterruptedException {
        String configured = System.getProperty("pam.keycloak.home", "");
        if (configured.isEmpty() || !Files.isExecutable(Path.of(configured, "bin", "kc.sh"))) {
            throw new IllegalStateException("Keycloak distribution not found at '" + configured
                    + "': build tests-e2e with Maven (it unpacks org.keycloak:keycloak-quarkus-dist into target/keycloak)");
        }
        KeycloakServer k = new KeycloakServer(Path.of(configured), RunnerProcess.freePort());
        k.launch(realmFiles);
        return k;
    }

    private void launch(List<Path> realmFiles) throws IOException, InterruptedException {
        // A fresh dev database each run, so the realm files are always the ones imported.
        deleteTree(home.resolve("data"));
        Path imports = Files.createDirectories(home.resolve("data").resolve("import"));
        for (Path f : realmFiles) {
            Files.copy(f, imports.resolve(f.getFileName()));
        }
        List<String> cmd = new ArrayList<>(List.of(home.resolve("bin").resolve("kc.sh").toString(), "start-dev",
                "--import-realm", "--http-host=127.0.0.1", "--http-port=" + port,
                "--http-management-port=" + RunnerProcess.freePort(), "--cache=local", "--log-level=warn"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("JAVA_HOME", javaHome());
        pb.environment().put("KC_BOOTSTRAP_ADMIN_USERNAME", "admin");
        pb.environment().put("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin-" + port);
        // --add-opens: Keycloak's thread pool needs it on Java 24+ (the temurin-25 JDK), or its executor threads die
        pb.environment().put("JAVA_OPTS_APPEND", "-XX:TieredStopAtLevel=1 -Xms64m --add-opens java.base/java.lang=ALL-UNNAMED");
        process = pb.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(START_SECONDS).toNanos();
        HttpClient http = HttpClient.newHttpClient();
        String firstRealm = realmFiles.isEmpty() ? "master" : new ObjectMapper().readTree(realmFiles.get(0).toFile()).path("realm").asText();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new IllegalStateException("Keycloak exited with " + process.exitValue() + ":\n" + tail());
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(issuer(firstRealm) + "/.well-known/openid-configuration"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        close();
        throw new IllegalStateException("Keycloak did not become ready within " + START_SECONDS + " s:\n" + tail());
    }

    static String javaHome() {
        String env = System.getenv("PAM_KEYCLOAK_JAVA_HOME");
        if (env != null && !env.isBlank()) {
            return env;
        }
        Path temurin = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64");
        if (Files.isExecutable(temurin.resolve("bin").resolve("java"))) {
            return temurin.toString();
        }
        return System.getProperty("java.home");
    }

    public String issuer(String realm) {
        return "http://127.0.0.1:" + port + "/realms/" + realm;
    }

    public int port() {
        return port;
    }

    /** An access token for a user (resource-owner password grant through the public client). */
    public String passwordToken(String realm, String clientId, String username, String password) throws IOException, InterruptedException {
        return token(realm, Map.of("grant_type", "password", "client_id", clientId, "username", username,
                "password", password, "scope", "openid"));
    }

    /** An access token for a confidential client's service account (client-credentials grant). */
    public String clientToken(String realm, String clientId, String secret) throws IOException, InterruptedException {
        return token(realm, Map.of("grant_type", "client_credentials", "client_id", clientId, "client_secret", secret));
    }

    private String token(String realm, Map<String, String> form) throws IOException, InterruptedException {
        String body = form.entrySet().stream()
                .map(e -> URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8) + "=" + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create(issuer(realm) + "/protocol/openid-connect/token"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode json = new ObjectMapper().readTree(r.body());
        if (r.statusCode() != 200 || !json.hasNonNull("access_token")) {
            throw new IllegalStateException("token request failed: HTTP " + r.statusCode() + " " + json.path("error"));
        }
        return json.get("access_token").asText();
    }

    public String tail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    @Override
    public void close() {
        if (process != null && process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}

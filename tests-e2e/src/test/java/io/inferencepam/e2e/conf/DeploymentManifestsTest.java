package io.inferencepam.e2e.conf;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The deployment files we ship give the runner what pam-record requires: a spool directory
 * (PAM_AUDIT_SPOOL_DIR, no default) on a volume mounted in the runner's own container, below the
 * mount (the runner creates it 700: a volume's root may be writable by everyone, which it refuses),
 * and a writable /tmp where the root filesystem is read-only (the JVM and Netty's native library).
 */
class DeploymentManifestsTest {
    static final Path CONF = Path.of(System.getProperty("user.dir")).resolve("../apisix-conf").normalize();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @Test
    void theKubernetesRunnerMountsItsSpoolVolumeAndATemporaryDirectory() throws Exception {
        JsonNode pod = YAML.readTree(CONF.resolve("kubernetes/apisix-runner-sidecar.yaml").toFile()).path("spec").path("template").path("spec");
        JsonNode runner = null;
        for (JsonNode c : pod.path("containers")) {
            if (env(c.path("env"), "APISIX_LISTEN_ADDRESS").isPresent()) {
                runner = c;
            }
        }
        assertThat(runner).as("the runner container").isNotNull();
        String spool = env(runner.path("env"), "PAM_AUDIT_SPOOL_DIR").orElseThrow(() -> new AssertionError("PAM_AUDIT_SPOOL_DIR not set"));
        JsonNode mount = mountHolding(runner, spool).orElseThrow(() -> new AssertionError(
                "the runner container mounts no volume holding " + spool + ": the spool would be on the (read-only) root filesystem"));
        assertThat(Path.of(spool)).as("a directory below the mount, created 700 by the runner").isNotEqualTo(Path.of(mount.path("mountPath").asText()));
        String volume = mount.path("name").asText();
        for (JsonNode c : pod.path("containers")) {
            if (c != runner) {
                for (JsonNode m : c.path("volumeMounts")) {
                    assertThat(m.path("name").asText()).as("the spool volume is the runner's alone").isNotEqualTo(volume);
                }
            }
        }
        if (runner.path("securityContext").path("readOnlyRootFilesystem").asBoolean(false)) {
            assertThat(mountHolding(runner, "/tmp")).as("a writable /tmp for the JVM and Netty's native library").isPresent();
        }
    }

    @Test
    void theComposeRunnerHasItsSpoolOnAVolume() throws Exception {
        JsonNode runner = YAML.readTree(CONF.resolve("docker-compose.yml").toFile()).path("services").path("runner");
        String spool = runner.path("environment").path("PAM_AUDIT_SPOOL_DIR").asText(null);
        assertThat(spool).as("PAM_AUDIT_SPOOL_DIR").isNotNull();
        List<String> targets = new ArrayList<>();
        runner.path("volumes").forEach(v -> targets.add(v.asText().split(":")[1]));
        assertThat(targets).anyMatch(t -> Path.of(spool).startsWith(Path.of(t)) && !Path.of(spool).equals(Path.of(t)));
    }

    @Test
    void runShSetsAPrivateSpoolDirectoryOutsideTmp() throws Exception {
        String script = Files.readString(CONF.resolveSibling("scripts/run.sh"));
        assertThat(script).contains("export PAM_AUDIT_SPOOL_DIR=").doesNotContain("PAM_AUDIT_SPOOL_DIR:-/tmp");
    }

    private static Optional<String> env(JsonNode env, String name) {
        for (JsonNode e : env) {
            if (name.equals(e.path("name").asText())) {
                return Optional.of(e.path("value").asText(""));
            }
        }
        return Optional.empty();
    }

    private static Optional<JsonNode> mountHolding(JsonNode container, String path) {
        for (JsonNode m : container.path("volumeMounts")) {
            if (Path.of(path).startsWith(Path.of(m.path("mountPath").asText()))) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }
}

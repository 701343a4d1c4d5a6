package io.inferencepam.record;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.RunnerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The real runner refuses a route with pam-record (PrepareConf fails: 503, the upstream is not
 * called) when its spool directory is not configured or is one other users could write, and its
 * log says why; a private directory is created 700.
 */
class PamRecordDirectoriesE2ETest {
    static final RouteConf ROUTE = RouteConf.builder("dirs").preReq(new ConfEntry("pam-record", "{}")).build();

    static GatewayResult callWith(Map<String, String> env, RunnerProcess[] started) throws Exception {
        RunnerProcess runner = RunnerProcess.start(env);
        started[0] = runner;
        try (EchoUpstream upstream = EchoUpstream.start(); ApisixDriver driver = new ApisixDriver(runner.socket())) {
            return driver.call(ROUTE, ClientRequest.builder("GET", "/v1/models").build(), upstream);
        }
    }

    @Test
    void withoutASpoolDirectoryTheRouteIsRefusedAndTheLogSaysWhy() throws Exception {
        RunnerProcess[] runner = new RunnerProcess[1];
        try {
            GatewayResult r = callWith(Map.of("PAM_AUDIT_SPOOL_DIR", ""), runner);
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.upstreamRequests()).isEmpty();
            assertThat(runner[0].log()).contains("PAM_AUDIT_SPOOL_DIR is not set");
        } finally {
            runner[0].close();
        }
    }

    @Test
    void aWorldWritableSpoolDirectoryIsRefusedAndAPrivateOneIsCreated700() throws Exception {
        Path shared = Files.createTempDirectory("pam-shared");
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        RunnerProcess[] runner = new RunnerProcess[1];
        try {
            GatewayResult refused = callWith(Map.of("PAM_AUDIT_SPOOL_DIR", shared.toString()), runner);
            assertThat(refused.status()).isEqualTo(503);
            assertThat(refused.upstreamRequests()).isEmpty();
            assertThat(runner[0].log()).contains("writable by every user");
            try (var files = Files.list(shared)) {
                assertThat(files).as("nothing written to the refused directory").isEmpty();
            }
        } finally {
            runner[0].close();
        }
        Path mine = shared.resolve("spool");
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwx------"));
        try {
            GatewayResult served = callWith(Map.of("PAM_AUDIT_SPOOL_DIR", mine.toString(), "PAM_AUDIT_SINK", "file",
                    "PAM_AUDIT_FILE_DIR", shared.resolve("files").toString()), runner);
            assertThat(served.status()).as(runner[0].log()).isEqualTo(200);
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(mine))).isEqualTo("rwx------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(shared.resolve("files")))).isEqualTo("rwx------");
        } finally {
            runner[0].close();
        }
    }
}

package io.inferencepam.record;

import static io.inferencepam.record.ArchiveSupport.archived;
import static io.inferencepam.record.ArchiveSupport.pamctl;
import static io.inferencepam.record.ArchiveSupport.positions;
import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.e2e.support.RunnerProcess;
import io.inferencepam.pam.record.archive.StreamId;
import io.inferencepam.pam.record.chain.StoredEntry;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Two runners archive one stream to one shared directory: one lease holder at a time, takeover when it dies. */
class PamRecordArchiveLeaseE2ETest {
    private static final Pattern HOLDER = Pattern.compile("(?m)^pam_audit_archive_holder\\S* (\\d)");

    @Test
    void exactlyOneRunnerArchivesAndTheOtherTakesOverWhenItDies() throws Exception {
        Path shared = Files.createTempDirectory("pam-archive-shared").resolve("archive");
        Map<String, String> archiveEnv = Map.of("PAM_AUDIT_ARCHIVE_DIR", shared.toString(), "PAM_AUDIT_ARCHIVE_CHECK_MS", "200",
                "PAM_AUDIT_ARCHIVE_LEASE_MS", "1500", "PAM_AUDIT_ARCHIVE_SEGMENT_SECONDS", "0");
        try (AuditFixture fx = new AuditFixture(archiveEnv, true)) {
            Map<String, String> envB = new LinkedHashMap<>(archiveEnv);
            envB.put("PAM_REDIS_URL", fx.redis.url());
            envB.put("PAM_AUDIT_SPOOL_DIR", Files.createTempDirectory("pam-audit-spool-b").toString());
            envB.put("PAM_AUDIT_SIGNING_KEY", fx.keys[0]);
            envB.put("PAM_AUDIT_VERIFY_KEY", fx.keys[1]);
            envB.put("PAM_AUDIT_CHECKPOINT_EVERY", "10");
            envB.put("PAM_AUDIT_CHECKPOINT_INTERVAL_MS", "300");
            try (RunnerProcess b = RunnerProcess.start(envB); ApisixDriver driverB = new ApisixDriver(b.socket())) {
                List<RunnerProcess> runners = List.of(fx.runner, b);
                List<ApisixDriver> drivers = List.of(fx.driver, driverB);
                // pam-record (and with it the archiver) starts with the first route that lists it
                List<String> ids = new ArrayList<>();
                ids.add(call(fx, fx.driver, 0));
                ids.add(call(fx, driverB, 1));

                ArchiveSupport.await("one runner holds the lease", () -> holder(fx, fx.runner) + holder(fx, b) == 1);
                for (int i = 0; i < 10; i++) {
                    assertThat(holder(fx, fx.runner) + holder(fx, b)).as("lease holders").isLessThanOrEqualTo(1);
                }
                int h = holder(fx, fx.runner) == 1 ? 0 : 1;
                int other = 1 - h;
                for (int i = 0; i < 20; i++) {
                    ids.add(call(fx, drivers.get(other), 100 + i));
                }
                ArchiveSupport.await("the holder archives the calls", () -> archivedText(shared).contains(ids.get(ids.size() - 1)));
                assertThat(holder(fx, runners.get(other))).isZero();

                runners.get(h).process().destroyForcibly().waitFor(); // kill -9: no lease release
                for (int i = 0; i < 20; i++) {
                    ids.add(call(fx, drivers.get(other), 200 + i));
                }
                ArchiveSupport.await("the other runner takes over", () -> holder(fx, runners.get(other)) == 1);
                ArchiveSupport.await("and archives", () -> archivedText(shared).contains(ids.get(ids.size() - 1)));

                runners.get(other).stop(); // releases the lease; its final checkpoint is left for the next archiver
                assertThat(pamctl("audit", "archive", "--once", "--force", "--dir", shared.toString(), "--redis", fx.redis.url(),
                        "--signing-key-file", ArchiveSupport.signingKeyFile(fx))
                        .exit()).isZero();
                List<String> archivedIds = positions(archived(shared));
                for (int i = 1; i < archivedIds.size(); i++) {
                    assertThat(StreamId.parse(archivedIds.get(i)).after(StreamId.parse(archivedIds.get(i - 1))))
                            .as("archive in stream order, no entry twice").isTrue();
                }
                String text = archivedText(shared);
                for (String id : ids) {
                    assertThat(text).contains(id);
                }
                assertThat(positions(fx.entries())).containsExactly(archivedIds.get(archivedIds.size() - 1));
                ArchiveSupport.Run v = pamctl("audit", "verify", "--file", shared.toString(), "--public-key", fx.keys[1]);
                assertThat(v.exit()).as(v.out()).isZero();
            }
        }
    }

    private static String call(AuditFixture fx, ApisixDriver driver, int i) throws Exception {
        GatewayResult r = driver.call(ArchiveSupport.ROUTE, PamRecordOutageE2ETest.call(i), fx.upstream);
        fx.record(r.requestId());
        return r.requestId();
    }

    private static String archivedText(Path dir) throws Exception {
        if (!Files.isDirectory(dir)) {
            return "";
        }
        StringBuilder sb = new StringBuilder();
        for (StoredEntry e : archived(dir)) {
            sb.append(e.json()).append('\n');
        }
        return sb.toString();
    }

    private static int holder(AuditFixture fx, RunnerProcess r) throws Exception {
        String metrics = fx.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + r.controlPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = HOLDER.matcher(metrics);
        return m.find() ? Integer.parseInt(m.group(1)) : 0;
    }
}

package io.inferencepam.record;

import static io.inferencepam.record.ArchiveSupport.calls;
import static io.inferencepam.record.ArchiveSupport.pamctl;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Archiving that falls behind, and an emergency cap that deletes unarchived entries, are alerted: metric and log line. */
class PamRecordArchiveAlertE2ETest {

    @Test
    void archivingBehindRaisesTheMetricAndLogs() throws Exception {
        // no archiver anywhere: the runner still watches the lag
        try (AuditFixture fx = new AuditFixture(Map.of("PAM_AUDIT_ARCHIVE_CHECK_MS", "200", "PAM_AUDIT_ARCHIVE_ALERT_ENTRIES", "30"),
                true)) {
            calls(fx, 0, 2); // the anchor, and two entries per call: below 30
            ArchiveSupport.await("the lag watch runs", () -> !metric(fx, "pam_audit_archive_unarchived_entries").equals("0"));
            assertThat(metric(fx, "pam_audit_archive_behind")).isEqualTo("0");
            calls(fx, 2, 20);
            ArchiveSupport.await("the lag alert", () -> metric(fx, "pam_audit_archive_behind").equals("1"));
            ArchiveSupport.await("the log line", () -> fx.runner.log().contains("audit archiving is behind"));
            assertThat(fx.runner.log()).contains("PAM_AUDIT_ARCHIVE_DIR is unset here");
            assertThat(Double.parseDouble(metric(fx, "pam_audit_archive_unarchived_entries"))).isGreaterThanOrEqualTo(30);
        }
    }

    @Test
    void theOptInEmergencyCapIsAnnouncedAndItsLossOfUnarchivedEntriesAlerted() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of("PAM_AUDIT_ARCHIVE_CHECK_MS", "200", "PAM_AUDIT_STREAM_MAXLEN", "20"), true)) {
            calls(fx, 0, 2);
            ArchiveSupport.await("the start warning", () -> fx.runner.log().contains("emergency cap is ON"));
            assertThat(pamctl("audit", "archive", "--once", "--force", "--dir", Files.createTempDirectory("pam-archive").toString(),
                    "--redis", fx.redis.url()).exit()).isZero();
            assertThat(metric(fx, "pam_audit_archive_lost_unarchived")).isEqualTo("0");
            calls(fx, 2, 40); // MAXLEN ~ 20 trims past the archived cursor
            ArchiveSupport.await("the loss alert", () -> metric(fx, "pam_audit_archive_lost_unarchived").equals("1"));
            ArchiveSupport.await("the log line", () -> fx.runner.log().contains("trimmed past the last archived entry"));
        }
    }

    static String metric(AuditFixture fx, String name) throws Exception {
        String body = fx.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fx.runner.controlPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^" + name + "\\S* (\\S+)").matcher(body);
        if (!m.find()) {
            return "absent";
        }
        return m.group(1).replaceAll("\\.0$", "");
    }
}

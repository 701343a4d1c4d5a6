package io.inferencepam.record;

import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.pam.cli.Pamctl;
import io.inferencepam.pam.record.archive.ArchiveDirectory;
import io.inferencepam.pam.record.archive.ArchiveSettings;
import io.inferencepam.pam.record.chain.StoredEntry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Shared steps of the archive and export tests: calls through a real runner, what the archive holds, pamctl. */
final class ArchiveSupport {
    static final RouteConf ROUTE = RouteConf.builder("archive")
            .preReq(new ConfEntry("pam-record", "{}"), new ConfEntry("test-pam-auth", "{}"))
            .postResp(new ConfEntry("pam-record", "{}")).build();

    private ArchiveSupport() {
    }

    /** {@code n} recorded calls through the runner; waits until the last one is stored. */
    static List<String> calls(AuditFixture fx, int from, int n) throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = from; i < from + n; i++) {
            GatewayResult r = fx.driver.call(ROUTE, PamRecordOutageE2ETest.call(i), fx.upstream);
            ids.add(r.requestId());
        }
        fx.record(ids.get(ids.size() - 1));
        return ids;
    }

    static ArchiveSettings settings(Path dir, long segmentBytes, Duration leaseTtl) {
        return new ArchiveSettings(Optional.of(dir), segmentBytes, Duration.ofHours(1), Duration.ZERO, Duration.ofMillis(200),
                leaseTtl, 1_000_000, Duration.ofHours(1));
    }

    /** The real archiver, signing its manifest with {@code signingKey} (base64 PKCS#8, the runner's). */
    static io.inferencepam.pam.record.archive.StreamArchiver archiver(redis.clients.jedis.UnifiedJedis jedis, String stream, Path dir,
                                                                   ArchiveSettings s, String signingKey, String owner) throws Exception {
        return new io.inferencepam.pam.record.archive.StreamArchiver(jedis, stream, new ArchiveDirectory(dir), s, owner,
                java.time.Clock.systemUTC(), Optional.of(io.inferencepam.pam.record.chain.CheckpointSigner.fromPkcs8Base64(signingKey)));
    }

    /** A file holding the fixture runner's signing key, for {@code pamctl audit archive --signing-key-file}. */
    static String signingKeyFile(AuditFixture fx) throws Exception {
        Path f = java.nio.file.Files.createTempFile("pam-signing", ".key");
        java.nio.file.Files.writeString(f, fx.keys[0]);
        return f.toString();
    }

    /** Every entry in the archive directory, in segment order. */
    static List<StoredEntry> archived(Path dir) throws Exception {
        List<StoredEntry> out = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        for (ArchiveDirectory.Segment s : new ArchiveDirectory(dir).segments()) {
            files.add(s.path());
        }
        ArchiveDirectory.scan(files, out::add);
        return out;
    }

    static List<String> positions(List<StoredEntry> entries) {
        return entries.stream().map(StoredEntry::position).toList();
    }

    record Run(int exit, String out, String err) {
    }

    static Run pamctl(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Pamctl.run(new PrintWriter(out), new PrintWriter(err), args);
        return new Run(code, out.toString(), err.toString());
    }

    /** Polls until {@code done} holds (no timing is asserted: the bound only ends a hung test). */
    static void await(String what, java.util.concurrent.Callable<Boolean> done) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!done.call()) {
            if (System.nanoTime() > end) {
                throw new AssertionError("gave up waiting for: " + what);
            }
            Thread.sleep(50);
        }
    }
}

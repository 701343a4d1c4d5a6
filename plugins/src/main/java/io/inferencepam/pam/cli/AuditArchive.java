package io.inferencepam.pam.cli;

import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.archive.ArchiveDirectory;
import io.inferencepam.pam.record.archive.ArchiveLag;
import io.inferencepam.pam.record.archive.ArchiveManifest;
import io.inferencepam.pam.record.archive.ArchiveSettings;
import io.inferencepam.pam.record.archive.ArchiveTask;
import io.inferencepam.pam.record.archive.StreamArchiver;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "archive", description = "Move audit stream entries into compressed, chained segment files in --dir "
        + "(verify them offline with audit verify --file DIR) and trim the stream up to the last archived entry, never past "
        + "it. One archiver per stream at a time (a Redis lease): safe to run beside runners that archive. Settings: "
        + "PAM_AUDIT_ARCHIVE_* (docs/plugins/pam-record.md).")
final class AuditArchive implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    StoreOptions store;
    @Option(names = "--dir", description = "archive directory (default: $PAM_AUDIT_ARCHIVE_DIR)")
    Path dir;
    @Option(names = "--once", description = "one pass, then exit (cron); default: run until stopped, a pass every "
            + "PAM_AUDIT_ARCHIVE_CHECK_MS")
    boolean once;
    @Option(names = "--force", description = "with --once: cut a segment of whatever waits, even below "
            + "PAM_AUDIT_ARCHIVE_SEGMENT_BYTES / _SECONDS")
    boolean force;
    @Option(names = "--owner", description = "name in the lease (default: host name and process id)")
    String owner;
    @Option(names = "--signing-key-file", description = "file holding the base64 PKCS#8 Ed25519 key that signs the archive's "
            + "MANIFEST.jsonl lines (a runner's audit-signing-key, say; default: $PAM_AUDIT_SIGNING_KEY). Without one the "
            + "manifest is unsigned and verify reports the archive as not verified")
    Path signingKeyFile;

    @Override
    public Integer call() throws Exception {
        java.util.function.Function<String, Optional<String>> env = n -> Optional.ofNullable(System.getenv(n));
        Path d = dir != null ? dir : env.apply("PAM_AUDIT_ARCHIVE_DIR").filter(v -> !v.isBlank()).map(Path::of).orElse(null);
        if (d == null) {
            spec.commandLine().getErr().println("give the archive directory with --dir or $PAM_AUDIT_ARCHIVE_DIR");
            return 2;
        }
        d = d.toAbsolutePath();
        Path archiveDir = d;
        ArchiveSettings settings = ArchiveSettings.from(n -> n.equals("PAM_AUDIT_ARCHIVE_DIR")
                ? Optional.of(archiveDir.toString()) : env.apply(n));
        io.inferencepam.pam.record.AuditDirectory.prepare("PAM_AUDIT_ARCHIVE_DIR", d);
        String name = owner != null ? owner : java.net.InetAddress.getLocalHost().getHostName() + "-pamctl-"
                + ProcessHandle.current().pid();
        PrintWriter out = spec.commandLine().getOut();
        Optional<String> key = signingKeyFile != null
                ? Optional.of(Files.readString(signingKeyFile, java.nio.charset.StandardCharsets.US_ASCII))
                : env.apply("PAM_AUDIT_SIGNING_KEY").filter(v -> !v.isBlank());
        Optional<CheckpointSigner> signer = key.map(CheckpointSigner::fromPkcs8Base64);
        if (signer.isEmpty()) {
            spec.commandLine().getErr().println("warning: no signing key (--signing-key-file or PAM_AUDIT_SIGNING_KEY): "
                    + ArchiveManifest.FILE + " is written unsigned, and verify reports the archive as not verified");
        }
        try (var jedis = store.redis()) {
            StreamArchiver archiver = new StreamArchiver(jedis, store.stream(), new ArchiveDirectory(d), settings, name,
                    java.time.Clock.systemUTC(), signer);
            if (once) {
                try {
                    StreamArchiver.Pass p = archiver.runOnce(force);
                    out.println(p.holder() ? "archived " + p.entries() + " entries in " + p.segments() + " segment(s) to " + d
                            : "another archiver holds the lease: nothing done");
                    ArchiveLag lag = ArchiveLag.measure(jedis, store.stream(), java.time.Clock.systemUTC());
                    out.println("waiting: ~" + lag.unarchived() + " entries, oldest " + lag.oldestAgeMillis() / 1000 + " s; "
                            + "archived up to " + lag.cursor().map(Object::toString).orElse("nothing"));
                    out.flush();
                    return lag.lostUnarchived() ? 1 : 0;
                } finally {
                    archiver.close();
                }
            }
            AtomicBoolean stop = new AtomicBoolean();
            Thread main = Thread.currentThread();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                stop.set(true);
                main.interrupt();
                try {
                    main.join(5000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }));
            out.println("archiving " + store.stream() + " to " + d + " as " + name);
            out.flush();
            try (ArchiveTask task = new ArchiveTask(jedis, store.stream(), settings, Optional.of(archiver), 0,
                    java.time.Clock.systemUTC())) {
                while (!stop.get()) {
                    task.pass(false);
                    try {
                        Thread.sleep(settings.checkEvery().toMillis());
                    } catch (InterruptedException e) {
                        break;
                    }
                }
            }
        }
        return 0;
    }
}

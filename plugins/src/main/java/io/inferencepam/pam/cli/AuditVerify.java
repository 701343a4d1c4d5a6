package io.inferencepam.pam.cli;

import io.inferencepam.pam.record.chain.ChainVerifier;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.archive.ArchiveDirectory;
import io.inferencepam.pam.record.archive.ArchiveManifest;
import io.inferencepam.pam.record.archive.ManifestCheck;
import io.inferencepam.pam.record.archive.StreamId;
import io.inferencepam.pam.record.archive.StreamArchiver;
import io.inferencepam.pam.record.query.AuditControlApi;
import io.inferencepam.pam.record.query.JsonLinesFiles;
import io.inferencepam.pam.record.query.AuditQuery;
import io.inferencepam.pam.record.sink.AuditSink;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "verify", description = "Check the hash chain and checkpoint signatures; name every modified, "
        + "deleted, inserted or reordered entry, and possible truncations. Exit 0 clean and verified, 1 findings, "
        + "3 no findings but not verified (no public key, or a checkpoint signed with a key not given).")
final class AuditVerify implements Callable<Integer> {
    /** Exit code when nothing was found but the signatures could not be checked. */
    static final int NOT_VERIFIED = 3;
    @Spec
    CommandSpec spec;
    @Mixin
    StoreOptions store;
    @Option(names = "--public-key", description = "base64 X.509 Ed25519 public key of a runner's checkpoint key "
            + "(repeatable, one per runner key; default: $PAM_AUDIT_VERIFY_KEY, comma-separated). The runner prints its "
            + "key at start; pamctl audit public-key reads it from the runner's audit directory.")
    List<String> publicKeys;
    @Option(names = "--complete", description = "the store must hold every chain from seq 1 (no retention trimming)")
    boolean complete;
    @Option(names = "--json", description = "print the report as JSON")
    boolean json;

    @Override
    public Integer call() throws Exception {
        List<java.security.PublicKey> keys = new ArrayList<>();
        List<String> given = publicKeys != null ? publicKeys
                : List.of(Optional.ofNullable(System.getenv("PAM_AUDIT_VERIFY_KEY")).orElse("").split(","));
        for (String k : given) {
            if (!k.isBlank()) {
                keys.add(CheckpointSigner.publicKeyFromBase64(k));
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        ChainVerifier.Report r;
        try (AuditSink s = store.open()) {
            // archive segments are judged as of when they were cut: the checkpoint covering a segment's last
            // entries is in the next segment, or still in the stream
            Optional<java.time.Instant> cut = s instanceof JsonLinesFiles f ? f.cutAt() : Optional.empty();
            r = new AuditQuery(s).verify(new ChainVerifier.Options(keys, complete, s.retention(), List.of(),
                    cut.map(t -> java.time.Clock.fixed(t, java.time.ZoneOffset.UTC)).orElse(java.time.Clock.systemUTC()),
                    java.time.Duration.ofMinutes(1)));
            cut.ifPresent(t -> out.println("note: entries read from segments or a follow export cut at " + t
                    + "; entries after an instance's last checkpoint are judged as of then"));
        }
        r = withArchives(r, keys, out);
        if (json) {
            out.println(AuditControlApi.reportJson(r));
        } else {
            for (ChainVerifier.Finding f : r.findings()) {
                out.println(f);
            }
            for (ChainVerifier.InstanceSummary i : r.instances()) {
                out.println("instance " + i.instance() + ": " + i.entries() + " entries, seq " + i.firstSeq() + ".."
                        + i.lastSeq() + ", signed up to " + i.lastSignedSeq() + (i.verified() ? "" : ", not verified"));
            }
            for (String n : r.notes()) {
                out.println("note: " + n);
            }
            out.println(!r.clean() ? "TAMPERED: " + r.findings().size() + " finding(s) in " + r.entries() + " entries"
                    : r.verified() ? "OK: " + r.entries() + " entries, no tampering found"
                    : "NOT VERIFIED: " + r.entries() + " entries, no tampering found in the chain, but checkpoint "
                    + "signatures were not checked with every runner's public key (--public-key): a forged or re-hashed "
                    + "chain would look the same");
        }
        out.flush();
        return !r.clean() ? 1 : r.verified() ? 0 : NOT_VERIFIED;
    }

    /**
     * Adds the whole-archive checks of every archive directory given with {@code --file}: its
     * manifest, every listed segment, and with {@code --redis} the stream's archived cursor.
     */
    private ChainVerifier.Report withArchives(ChainVerifier.Report r, List<java.security.PublicKey> keys, PrintWriter out)
            throws Exception {
        List<Path> dirs = new ArrayList<>();
        for (Path p : store.files == null ? List.<Path>of() : store.files) {
            if (ArchiveDirectory.isArchive(p) || Files.exists(ArchiveManifest.fileIn(p))) {
                dirs.add(p);
            }
        }
        if (dirs.isEmpty()) {
            return r;
        }
        List<ChainVerifier.Finding> findings = new ArrayList<>();
        List<String> notes = new ArrayList<>(r.notes());
        boolean verified = r.verified();
        Optional<StreamId> cursor = Optional.empty();
        if (store.redis != null) {
            try (var jedis = store.redisBesideFiles()) {
                cursor = Optional.ofNullable(jedis.get(StreamArchiver.cursorKey(store.stream()))).map(StreamId::parse);
            }
            if (cursor.isEmpty()) {
                notes.add("Redis holds no archived cursor for " + store.stream() + ": nothing was archived from it");
            }
        }
        // one cursor for all the directories: compared with the newest entry any of them lists
        List<ManifestCheck.Result> checked = ManifestCheck.checkAll(dirs, keys, store.redis != null
                ? Optional.of(cursor.orElse(StreamId.ZERO)) : Optional.empty(),
                store.redis != null ? Optional.of(store.stream()) : Optional.empty());
        for (int i = 0; i < dirs.size(); i++) {
            Path d = dirs.get(i);
            ManifestCheck.Result m = checked.get(i);
            findings.addAll(m.findings());
            notes.addAll(m.notes());
            verified &= m.present() && m.signed();
            if (m.present()) {
                out.println("archive: " + m.listed() + " segment(s) listed in " + ArchiveManifest.FILE + " of " + d + " (stream "
                        + m.stream().orElse("?") + ", up to " + m.lastArchived().map(Object::toString).orElse("nothing")
                        + (m.retired() > 0 ? "; " + m.retired() + " retired by retention" : "") + ")");
            }
        }
        findings.addAll(r.findings());
        return new ChainVerifier.Report(r.entries(), findings, r.instances(), notes, verified);
    }
}

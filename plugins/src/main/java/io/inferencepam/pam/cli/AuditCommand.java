package io.inferencepam.pam.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.ChainVerifier;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.pam.record.archive.ArchiveDirectory;
import io.inferencepam.pam.record.archive.ArchiveLag;
import io.inferencepam.pam.record.archive.ArchiveManifest;
import io.inferencepam.pam.record.archive.ManifestCheck;
import io.inferencepam.pam.record.archive.StreamId;
import io.inferencepam.pam.record.archive.ArchiveSettings;
import io.inferencepam.pam.record.archive.ArchiveTask;
import io.inferencepam.pam.record.archive.StreamArchiver;
import io.inferencepam.pam.record.export.PositionFile;
import io.inferencepam.pam.record.export.StreamFollower;
import io.inferencepam.pam.record.query.AuditControlApi;
import io.inferencepam.pam.record.query.JsonLinesFiles;
import io.inferencepam.pam.record.query.AuditFilter;
import io.inferencepam.pam.record.query.AuditQuery;
import io.inferencepam.pam.record.query.LiveReplay;
import io.inferencepam.pam.record.query.PolicyReplay;
import io.inferencepam.pam.record.sink.AuditSink;
import io.inferencepam.runner.conf.ConfCompiler;
import io.inferencepam.runner.conf.InvalidConfsException;
import io.inferencepam.runner.conf.PluginLoader;
import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.spi.Header;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pamctl audit ...}: search, show, export (--follow), verify, archive, replay, policy-replay, keygen. */
@Command(name = "audit", description = "The audit trail written by pam-record.", mixinStandardHelpOptions = true,
        subcommands = {AuditCommand.Search.class, AuditCommand.Show.class, AuditCommand.Export.class, AuditCommand.Verify.class, AuditCommand.Archive.class,
                AuditCommand.Replay.class, AuditCommand.PolicyReplayCmd.class, AuditCommand.PublicKeyCmd.class,
                AuditCommand.Keygen.class})
public final class AuditCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Search criteria shared by search and export. */
    static final class FilterOptions {
        @Option(names = "--principal", description = "subject, username or client id")
        String principal;
        @Option(names = "--model")
        String model;
        @Option(names = "--route", description = "APISIX route id")
        String route;
        @Option(names = "--decision", description = "deny, hold, allow, mask, … or stop, pass, rewrite, error")
        String decision;
        @Option(names = "--from", description = "ISO-8601 instant or epoch ms (inclusive)")
        String from;
        @Option(names = "--to", description = "ISO-8601 instant or epoch ms (exclusive)")
        String to;
        @Option(names = "--approval", description = "approval id (apr_…): its events (held, notified, decided, resumed, "
                + "consumed, denied, expired) and the call records that name it")
        String approval;

        AuditFilter filter(int limit) {
            return new AuditFilter(Optional.ofNullable(principal), Optional.ofNullable(model), Optional.ofNullable(route),
                    Optional.ofNullable(decision), Optional.ofNullable(from).map(AuditFilter::time),
                    Optional.ofNullable(to).map(AuditFilter::time), limit, Optional.ofNullable(approval));
        }

        boolean any() {
            return principal != null || model != null || route != null || decision != null || from != null || to != null
                    || approval != null;
        }
    }

    @Command(name = "search", description = "Call records matching all criteria, one JSON line each (with --approval: "
            + "that approval's events too).")
    static final class Search implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        StoreOptions store;
        @picocli.CommandLine.ArgGroup(exclusive = false)
        FilterOptions filter = new FilterOptions();
        @Option(names = "--limit", defaultValue = "100")
        int limit;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            try (AuditSink s = store.open()) {
                for (JsonNode r : new AuditQuery(s).search((filter == null ? new FilterOptions() : filter).filter(limit))) {
                    out.println(r.toString());
                }
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "show", description = "One call record by id (the nginx request_id), pretty-printed.")
    static final class Show implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        StoreOptions store;
        @Parameters(paramLabel = "ID")
        String id;

        @Override
        public Integer call() throws Exception {
            try (AuditSink s = store.open()) {
                Optional<JsonNode> r = new AuditQuery(s).show(id);
                if (r.isEmpty()) {
                    spec.commandLine().getErr().println("no record with id " + id);
                    return 1;
                }
                spec.commandLine().getOut().println(CanonicalJson.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(r.get()));
                spec.commandLine().getOut().flush();
                return 0;
            }
        }
    }

    @Command(name = "export", description = "JSON lines exactly as stored (without criteria: every entry, checkpoints "
            + "included, so the export itself can be verified with audit verify --file).")
    static final class Export implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        StoreOptions store;
        @picocli.CommandLine.ArgGroup(exclusive = false)
        FilterOptions filter = new FilterOptions();
        @Option(names = "--format", defaultValue = "jsonl", description = "jsonl (the only format)")
        String format;
        @Option(names = {"-o", "--output"}, description = "file to write (default: standard output); with --follow it is "
                + "appended to and forced to disk before the position moves")
        Path output;
        @Option(names = "--follow", description = "tail the Redis stream from --position and write every entry as "
                + "{\"stream_id\":…,\"entry\":…} (the entry as stored, chain fields included), at least once: after a restart "
                + "the last batch may come again, with the same stream ids. Runs until stopped; exit 4 when the stream was "
                + "trimmed past the position")
        boolean follow;
        @Option(names = "--position", description = "with --follow: file holding the stream id of the last entry delivered "
                + "(created; replaced atomically after each batch is written). Without it: from the stream's start, not saved")
        Path position;
        @Option(names = "--batch", defaultValue = "500", description = "with --follow: entries per read")
        int batch;

        @Override
        public Integer call() throws Exception {
            if (!"jsonl".equals(format)) {
                spec.commandLine().getErr().println("--format must be jsonl");
                return 2;
            }
            if (follow) {
                return follow();
            }
            FilterOptions f = filter == null ? new FilterOptions() : filter;
            AuditFilter af = f.any() ? f.filter(Integer.MAX_VALUE) : AuditFilter.ALL;
            try (AuditSink s = store.open();
                 java.io.Writer w = output == null ? spec.commandLine().getOut() : Files.newBufferedWriter(output)) {
                long n = new AuditQuery(s).exportJsonl(af, w);
                spec.commandLine().getErr().println(n + " entries exported");
            }
            return 0;
        }

        private int follow() throws Exception {
            if (filter != null && filter.any()) {
                spec.commandLine().getErr().println("--follow exports every entry (checkpoints included, so a SIEM can verify "
                        + "the chain): filter downstream");
                return 2;
            }
            Path pos = position != null ? position : Files.createTempFile("pamctl-follow", ".position");
            if (position == null) {
                Files.delete(pos);
            }
            AtomicBoolean stop = new AtomicBoolean();
            Thread main = Thread.currentThread();
            Thread hook = new Thread(() -> {
                stop.set(true);
                main.interrupt();
            });
            Runtime.getRuntime().addShutdownHook(hook);
            try (var jedis = store.redis(); FollowOutput out = new FollowOutput(output, spec.commandLine().getOut())) {
                StreamFollower f = new StreamFollower(jedis, store.stream(), new PositionFile(pos), out, Math.max(1, batch),
                        Duration.ofSeconds(1));
                spec.commandLine().getErr().println("following " + store.stream() + " after " + f.position());
                spec.commandLine().getErr().flush();
                while (!stop.get()) {
                    f.step();
                }
            } catch (StreamFollower.GapException e) {
                spec.commandLine().getErr().println("pamctl: " + e.getMessage());
                return 4;
            } catch (redis.clients.jedis.exceptions.JedisException e) {
                if (stop.get()) {
                    return 0;
                }
                throw e;
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running
                }
            }
            return 0;
        }
    }

    @Command(name = "verify", description = "Check the hash chain and checkpoint signatures; name every modified, "
            + "deleted, inserted or reordered entry, and possible truncations. Exit 0 clean and verified, 1 findings, "
            + "3 no findings but not verified (no public key, or a checkpoint signed with a key not given).")
    static final class Verify implements Callable<Integer> {
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

    @Command(name = "archive", description = "Move audit stream entries into compressed, chained segment files in --dir "
            + "(verify them offline with audit verify --file DIR) and trim the stream up to the last archived entry, never past "
            + "it. One archiver per stream at a time (a Redis lease): safe to run beside runners that archive. Settings: "
            + "PAM_AUDIT_ARCHIVE_* (docs/plugins/pam-record.md).")
    static final class Archive implements Callable<Integer> {
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

    @Command(name = "replay", description = "Re-send a recorded request through a gateway under YOUR token (never the "
            + "original: it is not recorded) and diff the recorded and the new response.")
    static final class Replay implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        StoreOptions store;
        @Parameters(paramLabel = "ID")
        String id;
        @Option(names = "--gateway", required = true, description = "gateway base URL, e.g. https://ai-gw.example.com")
        String gateway;
        @Option(names = "--token", description = "your bearer token (default: $PAMCTL_TOKEN)")
        String token;

        @Override
        public Integer call() throws Exception {
            String t = token != null ? token : System.getenv("PAMCTL_TOKEN");
            if (t == null || t.isBlank()) {
                spec.commandLine().getErr().println("give your token with --token or $PAMCTL_TOKEN");
                return 2;
            }
            JsonNode rec;
            try (AuditSink s = store.open()) {
                Optional<JsonNode> r = new AuditQuery(s).show(id);
                if (r.isEmpty()) {
                    spec.commandLine().getErr().println("no record with id " + id);
                    return 1;
                }
                rec = r.get();
            }
            LiveReplay.Outcome o;
            try {
                o = new LiveReplay().replay(rec, gateway, t);
            } catch (IllegalArgumentException e) {
                spec.commandLine().getErr().println(e.getMessage());
                return 1;
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println("recorded: status " + o.recordedStatus() + ", " + o.recordedBody().length() + " chars");
            out.println("replayed: status " + o.newStatus() + ", " + o.newBody().length() + " chars");
            if (o.identical()) {
                out.println("responses are identical");
            } else {
                out.println("--- recorded");
                out.println("+++ replayed");
                o.diff().forEach(out::println);
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "policy-replay", description = "Run recorded requests through a candidate route conf offline and "
            + "report which would now be blocked, held, allowed, rewritten or masked differently.")
    static final class PolicyReplayCmd implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Mixin
        StoreOptions store;
        @picocli.CommandLine.ArgGroup(exclusive = false)
        FilterOptions filter = new FilterOptions();
        @Option(names = "--route-conf", required = true, description = "candidate APISIX route JSON (Admin API body)")
        Path routeFile;
        @Option(names = "--skip", description = "plugin to leave out (repeatable). Not needed for pam-auth: it is replayed "
                + "with the recorded, verified principal (the token is never recorded). pam-record is always left out.")
        List<String> skip = new ArrayList<>();
        @Option(names = "--limit", defaultValue = "1000")
        int limit;
        @Option(names = "--all", description = "also list unchanged calls")
        boolean all;

        @Override
        public Integer call() throws Exception {
            JsonNode route = ConfCompiler.STRICT_JSON.readTree(Files.readString(routeFile));
            ConfCompiler compiler = new ConfCompiler(PluginLoader.load(new io.inferencepam.runner.conf.OfflineEnvironment()));
            Set<String> skipped = new java.util.HashSet<>(skip);
            skipped.add("pam-record");
            String routeId = route.path("id").asText("candidate");
            Optional<PreparedConf> pre;
            Optional<PreparedConf> post;
            try {
                pre = compile(compiler, route, "ext-plugin-pre-req", routeId, skipped)
                        .or(() -> compileQuiet(compiler, route, "ext-plugin-post-req", routeId, skipped));
                post = compile(compiler, route, "ext-plugin-post-resp", routeId, skipped);
            } catch (InvalidConfsException e) {
                spec.commandLine().getErr().println("candidate conf is invalid:");
                e.problems().forEach(p -> spec.commandLine().getErr().println("  " + p));
                return 2;
            }
            if (pre.isEmpty() && post.isEmpty()) {
                spec.commandLine().getErr().println("candidate route has no ext-plugin conf");
                return 2;
            }
            PolicyReplay replay = new PolicyReplay(pre.or(() -> post), post, skip.stream().allMatch("pam-record"::equals));
            PrintWriter out = spec.commandLine().getOut();
            out.println(PolicyReplay.IDENTITY);
            Map<PolicyReplay.Change, Integer> counts = new EnumMap<>(PolicyReplay.Change.class);
            try (AuditSink s = store.open()) {
                for (JsonNode rec : new AuditQuery(s).search((filter == null ? new FilterOptions() : filter).filter(limit))) {
                    PolicyReplay.Result r = replay.replay(rec);
                    counts.merge(r.change(), 1, Integer::sum);
                    if (all || r.change() != PolicyReplay.Change.UNCHANGED) {
                        out.println(r);
                    }
                }
            }
            out.println("summary: " + counts);
            out.flush();
            return 0;
        }

        private static Optional<PreparedConf> compileQuiet(ConfCompiler c, JsonNode route, String ext, String routeId, Set<String> skip) {
            try {
                return compile(c, route, ext, routeId, skip);
            } catch (InvalidConfsException e) {
                return Optional.empty();
            }
        }

        private static Optional<PreparedConf> compile(ConfCompiler c, JsonNode route, String ext, String routeId, Set<String> skip)
                throws InvalidConfsException {
            JsonNode conf = route.path("plugins").path(ext).path("conf");
            if (!conf.isArray()) {
                return Optional.empty();
            }
            List<Header> entries = new ArrayList<>();
            for (JsonNode e : conf) {
                if (!skip.contains(e.path("name").asText())) {
                    entries.add(new Header(e.path("name").asText(), e.path("value").asText()));
                }
            }
            if (entries.isEmpty()) {
                return Optional.empty(); // only pam-record (always left out) or skipped plugins: nothing to replay there
            }
            return Optional.of(c.compile("route#" + routeId + "#" + ext + "#candidate", entries, 0));
        }
    }

    @Command(name = "public-key", description = "Print the checkpoint public key a runner generated, from its audit "
            + "(spool) directory: the value for --public-key / PAM_AUDIT_VERIFY_KEY. (Also in the runner's start log and at "
            + "GET /v1/audit/key.)")
    static final class PublicKeyCmd implements Callable<Integer> {
        @Spec
        CommandSpec spec;
        @Option(names = "--dir", required = true, description = "the runner's PAM_AUDIT_SPOOL_DIR")
        Path dir;

        @Override
        public Integer call() throws Exception {
            Path f = dir.resolve(io.inferencepam.pam.record.chain.SigningKeys.PUBLIC_FILE);
            if (!Files.exists(f)) {
                spec.commandLine().getErr().println("no " + f + ": the runner has not started there, or uses PAM_AUDIT_SIGNING_KEY");
                return 1;
            }
            java.security.PublicKey k = CheckpointSigner.publicKeyFromBase64(Files.readString(f));
            spec.commandLine().getOut().println("PAM_AUDIT_VERIFY_KEY=" + java.util.Base64.getEncoder().encodeToString(k.getEncoded()));
            spec.commandLine().getOut().println("key_id=" + CheckpointSigner.keyId(k));
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    @Command(name = "keygen", description = "Print a new Ed25519 key pair: PAM_AUDIT_SIGNING_KEY (private, PKCS#8) "
            + "for the runner, PAM_AUDIT_VERIFY_KEY (public, X.509) for verifiers.")
    static final class Keygen implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            String[] k = CheckpointSigner.generate();
            spec.commandLine().getOut().println("PAM_AUDIT_SIGNING_KEY=" + k[0]);
            spec.commandLine().getOut().println("PAM_AUDIT_VERIFY_KEY=" + k[1]);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}

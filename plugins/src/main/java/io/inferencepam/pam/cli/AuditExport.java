package io.inferencepam.pam.cli;

import io.inferencepam.pam.record.export.PositionFile;
import io.inferencepam.pam.record.export.StreamFollower;
import io.inferencepam.pam.record.query.AuditFilter;
import io.inferencepam.pam.record.query.AuditQuery;
import io.inferencepam.pam.record.sink.AuditSink;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.time.Duration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "export", description = "JSON lines exactly as stored (without criteria: every entry, checkpoints "
        + "included, so the export itself can be verified with audit verify --file).")
final class AuditExport implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    StoreOptions store;
    @picocli.CommandLine.ArgGroup(exclusive = false)
    AuditFilterOptions filter = new AuditFilterOptions();
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
        AuditFilterOptions f = filter == null ? new AuditFilterOptions() : filter;
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

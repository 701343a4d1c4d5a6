package io.inferencepam.pam.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.record.query.AuditQuery;
import io.inferencepam.pam.record.query.LiveReplay;
import io.inferencepam.pam.record.sink.AuditSink;
import java.io.PrintWriter;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "replay", description = "Re-send a recorded request through a gateway under YOUR token (never the "
        + "original: it is not recorded) and diff the recorded and the new response.")
final class AuditReplay implements Callable<Integer> {
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

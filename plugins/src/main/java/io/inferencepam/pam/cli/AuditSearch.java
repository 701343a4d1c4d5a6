package io.inferencepam.pam.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.record.query.AuditQuery;
import io.inferencepam.pam.record.sink.AuditSink;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "search", description = "Call records matching all criteria, one JSON line each (with --approval: "
        + "that approval's events too).")
final class AuditSearch implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    StoreOptions store;
    @picocli.CommandLine.ArgGroup(exclusive = false)
    AuditFilterOptions filter = new AuditFilterOptions();
    @Option(names = "--limit", defaultValue = "100")
    int limit;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try (AuditSink s = store.open()) {
            for (JsonNode r : new AuditQuery(s).search((filter == null ? new AuditFilterOptions() : filter).filter(limit))) {
                out.println(r.toString());
            }
        }
        out.flush();
        return 0;
    }
}

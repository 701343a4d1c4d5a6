package io.inferencepam.pam.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.query.AuditQuery;
import io.inferencepam.pam.record.sink.AuditSink;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "show", description = "One call record by id (the nginx request_id), pretty-printed.")
final class AuditShow implements Callable<Integer> {
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

package io.inferencepam.pam.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.record.query.AuditQuery;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "policy-replay", description = "Run recorded requests through a candidate route conf offline and "
        + "report which would now be blocked, held, allowed, rewritten or masked differently.")
final class AuditPolicyReplay implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Mixin
    StoreOptions store;
    @picocli.CommandLine.ArgGroup(exclusive = false)
    AuditFilterOptions filter = new AuditFilterOptions();
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
            for (JsonNode rec : new AuditQuery(s).search((filter == null ? new AuditFilterOptions() : filter).filter(limit))) {
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

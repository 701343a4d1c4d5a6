package io.inferencepam.runner.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.runner.conf.ConfCompiler;
import io.inferencepam.runner.conf.ConfProblem;
import io.inferencepam.runner.conf.OfflineEnvironment;
import io.inferencepam.runner.conf.PluginLoader;
import io.inferencepam.runner.conf.RouteLinter;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Validates a route's ext-plugin conf before it is applied to APISIX. */
@Command(name = "lint", description = {
    "Validate the ext-plugin confs of an APISIX route (Admin API JSON body) against the plugins' schemas.",
    "Exit status: 0 clean (warnings allowed), 1 errors found, 2 unreadable input."})
public final class LintCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "FILE", description = "route JSON file, or - for standard input")
    Path file;

    @Override
    public Integer call() throws Exception {
        return lint(file, System.out, System.err);
    }

    static int lint(Path file, PrintStream out, PrintStream err) {
        JsonNode route;
        try {
            byte[] bytes = "-".equals(file.toString()) ? System.in.readAllBytes() : Files.readAllBytes(file);
            route = ConfCompiler.STRICT_JSON.readTree(bytes);
        } catch (Exception e) {
            err.println(file + ": not readable as JSON (" + e.getClass().getSimpleName() + ")");
            return 2;
        }
        RouteLinter linter = new RouteLinter(new ConfCompiler(PluginLoader.load(new OfflineEnvironment())));
        List<RouteLinter.Finding> findings = linter.lint(route);
        for (RouteLinter.Finding f : findings) {
            out.println(f);
        }
        long errors = findings.stream().filter(f -> f.severity() == RouteLinter.Severity.ERROR).count();
        out.println(errors == 0 ? "OK: " + (findings.isEmpty() ? "no problems" : findings.size() + " warning(s)")
                : errors + " error(s), " + (findings.size() - errors) + " warning(s)");
        return errors == 0 ? 0 : 1;
    }

    static String describe(ConfProblem p) {
        return p.toString();
    }
}

package io.inferencepam.pam.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code pamctl}: the operator's command line (scripts/pamctl). Subcommands are separate classes,
 * so features add themselves with one entry in {@code subcommands}.
 */
@Command(name = "pamctl", mixinStandardHelpOptions = true, version = "pamctl 0.1.0",
        description = "Operate inference-pam: upstream credentials, the audit trail and approvals.",
        subcommands = {CredentialCommand.Credential.class, AuditCommand.class, ApprovalsCommand.class})
public final class Pamctl implements Runnable {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs without exiting (tests). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** The command line with a handler that prints one clear line (no stack trace) when Redis or the key fails. */
    public static CommandLine commandLine() {
        return new CommandLine(new Pamctl()).setExecutionExceptionHandler((ex, cl, parsed) -> {
            cl.getErr().println("pamctl: " + ex.getClass().getSimpleName() + (ex.getMessage() == null ? "" : ": " + ex.getMessage()));
            cl.getErr().flush();
            return 3;
        });
    }

    /** Runs with the given output streams, without exiting. */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        return commandLine().setOut(out).setErr(err).execute(args);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}

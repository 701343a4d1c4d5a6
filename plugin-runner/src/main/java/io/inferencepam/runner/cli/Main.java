package io.inferencepam.runner.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code java -jar inference-pam.jar [run|lint FILE]}. With no arguments it runs the runtime, so
 * APISIX's {@code ext-plugin.cmd: ["java", "-jar", "/path/inference-pam.jar"]} works unchanged.
 */
@Command(name = "inference-pam", mixinStandardHelpOptions = true, version = "inference-pam 0.1.0",
        description = "Privileged access management for AI inference: APISIX ext-plugin runner.",
        subcommands = {RunCommand.class, LintCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        String[] effective = args.length == 0 ? new String[] {"run"} : args;
        int code = new CommandLine(new Main()).execute(effective);
        if (code != 0 || !"run".equals(effective[0])) {
            System.exit(code);
        }
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}

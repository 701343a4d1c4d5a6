package io.inferencepam.pam.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code pamctl audit ...}: search, show, export (--follow), verify, archive, replay, policy-replay, keygen. */
@Command(name = "audit", description = "The audit trail written by pam-record.", mixinStandardHelpOptions = true,
        subcommands = {AuditSearch.class, AuditShow.class, AuditExport.class, AuditVerify.class, AuditArchive.class,
                AuditReplay.class, AuditPolicyReplay.class, AuditPublicKey.class,
                AuditKeygen.class})
public final class AuditCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}

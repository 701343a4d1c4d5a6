package io.inferencepam.pam.cli;

import io.inferencepam.pam.record.chain.CheckpointSigner;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "keygen", description = "Print a new Ed25519 key pair: PAM_AUDIT_SIGNING_KEY (private, PKCS#8) "
        + "for the runner, PAM_AUDIT_VERIFY_KEY (public, X.509) for verifiers.")
final class AuditKeygen implements Callable<Integer> {
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

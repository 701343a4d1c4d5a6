package io.inferencepam.pam.cli;

import io.inferencepam.pam.record.chain.CheckpointSigner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "public-key", description = "Print the checkpoint public key a runner generated, from its audit "
        + "(spool) directory: the value for --public-key / PAM_AUDIT_VERIFY_KEY. (Also in the runner's start log and at "
        + "GET /v1/audit/key.)")
final class AuditPublicKey implements Callable<Integer> {
    @Spec
    CommandSpec spec;
    @Option(names = "--dir", required = true, description = "the runner's PAM_AUDIT_SPOOL_DIR")
    Path dir;

    @Override
    public Integer call() throws Exception {
        Path f = dir.resolve(io.inferencepam.pam.record.chain.SigningKeys.PUBLIC_FILE);
        if (!Files.exists(f)) {
            spec.commandLine().getErr().println("no " + f + ": the runner has not started there, or uses PAM_AUDIT_SIGNING_KEY");
            return 1;
        }
        java.security.PublicKey k = CheckpointSigner.publicKeyFromBase64(Files.readString(f));
        spec.commandLine().getOut().println("PAM_AUDIT_VERIFY_KEY=" + java.util.Base64.getEncoder().encodeToString(k.getEncoded()));
        spec.commandLine().getOut().println("key_id=" + CheckpointSigner.keyId(k));
        spec.commandLine().getOut().flush();
        return 0;
    }
}

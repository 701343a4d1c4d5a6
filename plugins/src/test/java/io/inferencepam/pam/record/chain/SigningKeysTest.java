package io.inferencepam.pam.record.chain;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SigningKeysTest {
    @TempDir
    Path dir;

    @Test
    void aKeyPairIsGeneratedOnceOwnerOnlyAndKeptAcrossStarts() throws Exception {
        SigningKeys.Identity first = SigningKeys.load(Optional.empty(), List.of(), dir);
        assertThat(first.publicKey()).isPresent();
        assertThat(first.signer().keyId()).contains(CheckpointSigner.keyId(first.publicKey().get()));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(SigningKeys.PRIVATE_FILE))))
                .isEqualTo("rw-------");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(SigningKeys.PRIVATE_FILE,
                    SigningKeys.PUBLIC_FILE);
        }
        SigningKeys.Identity again = SigningKeys.load(Optional.empty(), List.of(), dir);
        assertThat(again.publicKey().get().getEncoded()).isEqualTo(first.publicKey().get().getEncoded());
        String sig = again.signer().sign("ab".repeat(32));
        assertThat(CheckpointSigner.verify(first.publicKey().get(), "ab".repeat(32), sig)).isTrue();
    }

    @Test
    void aPrivateKeyOthersCanReadIsRefused() throws Exception {
        SigningKeys.load(Optional.empty(), List.of(), dir);
        Files.setPosixFilePermissions(dir.resolve(SigningKeys.PRIVATE_FILE), PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> SigningKeys.load(Optional.empty(), List.of(), dir)).isInstanceOf(IOException.class)
                .hasMessageContaining("chmod 600").hasMessageNotContaining("MC4C"); // never the key itself
    }

    @Test
    void aPublicKeyThatDoesNotMatchIsRefused() throws Exception {
        SigningKeys.load(Optional.empty(), List.of(), dir);
        Files.writeString(dir.resolve(SigningKeys.PUBLIC_FILE), CheckpointSigner.generate()[1]);
        assertThatThrownBy(() -> SigningKeys.load(Optional.empty(), List.of(), dir)).isInstanceOf(IOException.class)
                .hasMessageContaining("is not the public key");
    }

    @Test
    void aConfiguredKeyIsNamedByTheMatchingVerifyKey() throws Exception {
        String[] kp = CheckpointSigner.generate();
        var other = CheckpointSigner.publicKeyFromBase64(CheckpointSigner.generate()[1]);
        var mine = CheckpointSigner.publicKeyFromBase64(kp[1]);
        SigningKeys.Identity id = SigningKeys.load(Optional.of(kp[0]), List.of(other, mine), dir);
        assertThat(id.publicKey()).contains(mine);
        assertThat(id.signer().keyId()).contains(CheckpointSigner.keyId(mine));
        assertThat(SigningKeys.load(Optional.of(kp[0]), List.of(other), dir).publicKey()).isEmpty();
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty(); // nothing generated next to a configured key
        }
    }
}

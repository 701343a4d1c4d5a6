package io.inferencepam.pam.record.chain;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PublicKey;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Where the runner's checkpoint signing key comes from. Checkpoints are always signed: with
 * {@code PAM_AUDIT_SIGNING_KEY} when it is set, otherwise with a key pair generated at the first
 * start and kept in the audit directory ({@code audit-signing-key}, owner-only {@code 0600}, and
 * {@code audit-signing-key.pub}), so it survives restarts and never travels through the store.
 */
public final class SigningKeys {
    public static final String PRIVATE_FILE = "audit-signing-key";
    public static final String PUBLIC_FILE = "audit-signing-key.pub";

    /** The signer, its public key where known, and where the key came from (for the start log). */
    public record Identity(CheckpointSigner signer, Optional<PublicKey> publicKey, String source) {
    }

    private SigningKeys() {
    }

    /**
     * @param configured {@code PAM_AUDIT_SIGNING_KEY}; its public key is looked up among
     *                   {@code verifyKeys} (a configured private key alone does not name it)
     * @throws IOException if the key file cannot be read or written, or others may read it
     */
    public static Identity load(Optional<String> configured, List<PublicKey> verifyKeys, Path dir) throws IOException {
        if (configured.isPresent()) {
            CheckpointSigner bare = CheckpointSigner.fromPkcs8Base64(configured.get());
            Optional<PublicKey> pub = verifyKeys.stream().filter(bare::matches).findFirst();
            return new Identity(pub.map(bare::withPublicKey).orElse(bare), pub, "PAM_AUDIT_SIGNING_KEY");
        }
        Path priv = dir.resolve(PRIVATE_FILE);
        Path pubFile = dir.resolve(PUBLIC_FILE);
        if (!Files.exists(priv)) {
            try {
                generate(dir, priv, pubFile);
                return read(priv, pubFile, "generated at first start in " + dir);
            } catch (FileAlreadyExistsException raced) {
                // another start won (cannot happen under the spool lock; harmless): read it
            }
        }
        return read(priv, pubFile, priv.toString());
    }

    private static Identity read(Path priv, Path pubFile, String source) throws IOException {
        ownerOnly(priv);
        CheckpointSigner signer;
        PublicKey pub;
        try {
            signer = CheckpointSigner.fromPkcs8Base64(Files.readString(priv, StandardCharsets.US_ASCII));
            pub = CheckpointSigner.publicKeyFromBase64(Files.readString(pubFile, StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new IOException("the audit signing key files " + priv + " / " + pubFile + " are not an Ed25519 key pair");
        }
        if (!signer.matches(pub)) {
            throw new IOException(pubFile + " is not the public key of " + priv);
        }
        return new Identity(signer.withPublicKey(pub), Optional.of(pub), source);
    }

    /** Refuses a private key file that others could read or replace (like ssh does). */
    private static void ownerOnly(Path priv) throws IOException {
        PosixFileAttributeView view = Files.getFileAttributeView(priv, PosixFileAttributeView.class);
        if (view == null) {
            return; // not a POSIX file system: nothing to check
        }
        Set<PosixFilePermission> perms = view.readAttributes().permissions();
        for (PosixFilePermission p : perms) {
            if (p.name().startsWith("GROUP") || p.name().startsWith("OTHERS")) {
                throw new IOException("the audit signing key " + priv + " is accessible to others ("
                        + PosixFilePermissions.toString(perms) + "); chmod 600 it");
            }
        }
    }

    private static void generate(Path dir, Path priv, Path pub) throws IOException {
        String[] kp = CheckpointSigner.generate();
        Files.createDirectories(dir);
        // written under a temporary name created 0600 (never readable by others, not even
        // briefly), then moved into place: a crash leaves no half key
        Path tmpPub = write(dir, PUBLIC_FILE, kp[1], "rw-r--r--");
        Files.move(tmpPub, pub, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Path tmpPriv = write(dir, PRIVATE_FILE, kp[0], "rw-------");
        if (Files.exists(priv)) {
            Files.delete(tmpPriv);
            throw new FileAlreadyExistsException(priv.toString());
        }
        Files.move(tmpPriv, priv, StandardCopyOption.ATOMIC_MOVE);
    }

    private static Path write(Path dir, String name, String base64, String perms) throws IOException {
        Path tmp = dir.resolve("." + name + ".tmp");
        Files.deleteIfExists(tmp);
        boolean posix = Files.getFileAttributeView(dir, PosixFileAttributeView.class) != null;
        if (posix) {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(perms)));
        } else {
            Files.createFile(tmp);
        }
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap((base64 + "\n").getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
        if (posix) {
            // the umask may have narrowed the public file; the private one only ever narrower
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString(perms));
        }
        return tmp;
    }
}

package io.inferencepam.pam.record;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A directory pam-record writes audit evidence to (the spool, the file sink). It holds whole
 * records (request and response bodies) and entries the runner will store and chain as its own,
 * so it must be the runner's alone: another user who can write it could plant or remove entries,
 * one who can read it reads every recorded call. Hence no default under a shared temporary
 * directory: the directory is configured, created {@code 0700} if missing, and refused if it is
 * writable by everyone or owned by another user (root included: a runner running as root must
 * not adopt a directory someone else prepared).
 */
public final class AuditDirectory {
    private static final Logger LOG = LoggerFactory.getLogger(AuditDirectory.class);
    private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rwx------");

    private AuditDirectory() {
    }

    /**
     * The directory of setting {@code setting}, created {@code 0700} if missing, checked otherwise.
     *
     * @throws IllegalArgumentException with a message an operator can act on (names the setting
     *                                  and the path; never a secret)
     */
    public static Path prepare(String setting, Path dir) {
        return prepare(setting, dir, currentUid());
    }

    /** As {@link #prepare(String, Path)} for a process running as {@code uid} (tests). */
    static Path prepare(String setting, Path dir, int uid) {
        try {
            if (!Files.exists(dir)) {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PRIVATE));
                Files.setPosixFilePermissions(dir, PRIVATE); // exact, whatever the umask did
            }
            refuseReplaceableLinks(setting, dir, uid);
            if (!Files.isDirectory(dir)) {
                throw new IllegalArgumentException(setting + " " + dir + " is not a directory");
            }
            int owner = (Integer) Files.getAttribute(dir, "unix:uid");
            if (owner != uid) {
                throw new IllegalArgumentException(setting + " " + dir + " is owned by uid " + owner + ", not by the runner (uid "
                        + uid + "): give the runner a directory of its own");
            }
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(dir);
            if (perms.contains(PosixFilePermission.OTHERS_WRITE)) {
                throw new IllegalArgumentException(setting + " " + dir + " is writable by every user ("
                        + PosixFilePermissions.toString(perms) + "): use a directory only the runner can write, e.g. mode 700");
            }
            if (perms.contains(PosixFilePermission.OTHERS_READ) || perms.contains(PosixFilePermission.OTHERS_EXECUTE)) {
                LOG.warn("{} {} can be read by other users ({}): audit records hold request and response bodies; use mode 700",
                        setting, dir, PosixFilePermissions.toString(perms));
            }
            return dir;
        } catch (IOException | UnsupportedOperationException e) {
            throw new IllegalArgumentException(setting + " " + dir + " cannot be created or checked (" + e.getClass().getSimpleName() + ")");
        }
    }

    /**
     * The checks below look through symbolic links, so each link on the path must stay what it is:
     * one that another user owns, or that sits in a directory anyone can write without the sticky
     * bit, could be pointed elsewhere right after the check, and the spool would follow it.
     */
    private static void refuseReplaceableLinks(String setting, Path dir, int uid) throws IOException {
        Path abs = dir.toAbsolutePath();
        Path p = abs.getRoot();
        for (Path name : abs) {
            p = p.resolve(name);
            if (!Files.isSymbolicLink(p)) {
                continue;
            }
            int owner = (Integer) Files.getAttribute(p, "unix:uid", java.nio.file.LinkOption.NOFOLLOW_LINKS);
            int parentMode = (Integer) Files.getAttribute(p.getParent(), "unix:mode");
            boolean anyoneCanReplace = (parentMode & 0002) != 0 && (parentMode & 01000) == 0;
            if ((owner != uid && owner != 0) || anyoneCanReplace) {
                throw new IllegalArgumentException(setting + " " + dir + " goes through the symbolic link " + p
                        + ", which " + (anyoneCanReplace ? "every user" : "uid " + owner) + " can replace: configure the real path");
            }
        }
    }

    private static int currentUid() {
        return (int) new com.sun.security.auth.module.UnixSystem().getUid();
    }
}

package io.inferencepam.pam.record;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.inferencepam.pam.PamServices;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Metrics;
import io.inferencepam.runner.spi.PluginEnvironment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Audit and spool directories: configured, private, created 0700, refused when others could write them. */
class AuditDirectoryTest {
    @TempDir
    Path tmp;

    static int uid() throws Exception {
        return (Integer) Files.getAttribute(Files.createTempFile("uid", ""), "unix:uid");
    }

    @Test
    void aMissingDirectoryIsCreatedWithMode700WhateverTheUmask() throws Exception {
        Path dir = tmp.resolve("a/b/spool");
        AuditDirectory.prepare("PAM_AUDIT_SPOOL_DIR", dir);
        assertThat(Files.isDirectory(dir)).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwx------");
    }

    @Test
    void aWorldWritableDirectoryIsRefused() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("shared"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> AuditDirectory.prepare("PAM_AUDIT_SPOOL_DIR", dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("PAM_AUDIT_SPOOL_DIR").hasMessageContaining(dir.toString())
                .hasMessageContaining("writable by every user");
    }

    @Test
    void theSharedTemporaryDirectoryItselfIsRefused() {
        assertThatThrownBy(() -> AuditDirectory.prepare("PAM_AUDIT_SPOOL_DIR", Path.of("/tmp")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aLinkToAWorldWritableDirectoryIsRefused() throws Exception {
        Path target = Files.createDirectory(tmp.resolve("target"));
        Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), target);
        assertThatThrownBy(() -> AuditDirectory.prepare("PAM_AUDIT_SPOOL_DIR", link))
                .hasMessageContaining("writable by every user");
    }

    /**
     * Review finding (issue 10 item 15): the checks looked through symbolic links only. A link in a
     * directory anyone can write (no sticky bit), pointing at a private directory of the runner's
     * own, passed; after the check anyone could point it at a directory of theirs, and the spool
     * (request and response bodies, the chain head, the generated signing key) would then be
     * written there.
     */
    @Test
    void aLinkAnyoneCanReplaceIsRefused() throws Exception {
        Path open = Files.createDirectory(tmp.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx")); // no sticky bit
        Path mine = Files.createDirectory(tmp.resolve("mine"));
        Files.setPosixFilePermissions(mine, PosixFilePermissions.fromString("rwx------"));
        Path link = Files.createSymbolicLink(open.resolve("spool"), mine);
        assertThatThrownBy(() -> AuditDirectory.prepare("PAM_AUDIT_SPOOL_DIR", link))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("PAM_AUDIT_SPOOL_DIR").hasMessageContaining("symbolic link");
        Path through = open.resolve("via");
        Files.createSymbolicLink(through, tmp);
        assertThatThrownBy(() -> AuditDirectory.prepare("PAM_AUDIT_SPOOL_DIR", through.resolve("mine")))
                .as("a replaceable link anywhere on the path").hasMessageContaining("symbolic link");
    }

    @Test
    void aLinkOwnedByAnotherUserIsRefusedEvenInAStickyDirectory() throws Exception {
        assumeTrue(uid() == 0, "needs root to hand the link to another user");
        Path sticky = Files.createDirectory(tmp.resolve("sticky"));
        Files.setAttribute(sticky, "unix:mode", 01777);
        Path mine = Files.createDirectory(tmp.resolve("mine"));
        Files.setPosixFilePermissions(mine, PosixFilePermissions.fromString("rwx------"));
        Path link = Files.createSymbolicLink(sticky.resolve("spool"), mine);
        Files.getFileAttributeView(link, java.nio.file.attribute.PosixFileAttributeView.class,
                java.nio.file.LinkOption.NOFOLLOW_LINKS).setOwner(link.getFileSystem().getUserPrincipalLookupService()
                .lookupPrincipalByName("nobody"));
        assertThatThrownBy(() -> AuditDirectory.prepare("PAM_AUDIT_SPOOL_DIR", link)).hasMessageContaining("symbolic link");
    }

    @Test
    void aLinkOfTheRunnersOwnInAPrivateDirectoryIsFollowed() throws Exception {
        Path mine = Files.createDirectory(tmp.resolve("mine"));
        Files.setPosixFilePermissions(mine, PosixFilePermissions.fromString("rwx------"));
        Path link = Files.createSymbolicLink(tmp.resolve("spool"), mine);
        assertThat(AuditDirectory.prepare("PAM_AUDIT_SPOOL_DIR", link)).isEqualTo(link);
    }

    @Test
    void aDirectoryOwnedByAnotherUserIsRefusedEvenForRoot() throws Exception {
        assumeTrue(uid() == 0, "needs root to hand the directory to another user");
        Path dir = Files.createDirectory(tmp.resolve("theirs"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Files.setAttribute(dir, "unix:uid", 65534); // nobody
        assertThatThrownBy(() -> AuditDirectory.prepare("PAM_AUDIT_SPOOL_DIR", dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("owned by uid 65534").hasMessageContaining("uid 0");
    }

    @Test
    void aDirectoryOfAnotherUidIsRefusedForAnyRunner() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("mine"));
        int other = uid() + 1;
        assertThatThrownBy(() -> AuditDirectory.prepare("PAM_AUDIT_FILE_DIR", dir, other))
                .hasMessageContaining("PAM_AUDIT_FILE_DIR").hasMessageContaining("not by the runner (uid " + other + ")");
    }

    @Test
    void aFileIsNotADirectory() throws Exception {
        Path file = Files.createFile(tmp.resolve("file"));
        assertThatThrownBy(() -> AuditDirectory.prepare("PAM_AUDIT_SPOOL_DIR", file)).hasMessageContaining("is not a directory");
    }

    @Test
    void anExistingPrivateDirectoryIsKeptAsItIs() throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("ops"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-x---"));
        assertThat(AuditDirectory.prepare("PAM_AUDIT_SPOOL_DIR", dir)).isEqualTo(dir);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir))).isEqualTo("rwxr-x---");
    }

    // ---- the settings: no default directory -------------------------------------------------

    static PluginEnvironment env(Map<String, String> settings) {
        return new PluginEnvironment() {
            @Override
            public Executor blockingExecutor() {
                return Runnable::run;
            }

            @Override
            public ScheduledExecutorService scheduler() {
                throw new UnsupportedOperationException("not used before the settings are valid");
            }

            @Override
            public ControlApi control() {
                return (method, path, handler) -> { };
            }

            @Override
            public Metrics metrics() {
                throw new UnsupportedOperationException("not used before the settings are valid");
            }

            @Override
            public Clock clock() {
                return Clock.systemUTC();
            }

            @Override
            public Optional<String> setting(String name) {
                return Optional.ofNullable(settings.get(name));
            }

            @Override
            public void onShutdown(AutoCloseable resource) {
            }
        };
    }

    @Test
    void withoutASpoolDirectoryTheSettingsAreRefusedWithAClearMessage() {
        assertThatThrownBy(() -> RecordSettings.from(env(Map.of())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("PAM_AUDIT_SPOOL_DIR is not set");
        assertThatThrownBy(() -> RecordSettings.from(env(Map.of("PAM_AUDIT_SPOOL_DIR", " "))))
                .hasMessageStartingWith("PAM_AUDIT_SPOOL_DIR is not set");
        assertThatThrownBy(() -> RecordSettings.from(env(Map.of("PAM_AUDIT_SPOOL_DIR", "spool"))))
                .hasMessageContaining("absolute");
    }

    @Test
    void theFileSinkNeedsItsDirectoryToo() {
        Map<String, String> s = new HashMap<>(Map.of("PAM_AUDIT_SPOOL_DIR", tmp.resolve("spool").toString(), "PAM_AUDIT_SINK", "file"));
        assertThatThrownBy(() -> RecordSettings.from(env(s))).hasMessageStartingWith("PAM_AUDIT_FILE_DIR is not set");
        s.put("PAM_AUDIT_FILE_DIR", tmp.resolve("files").toString());
        assertThat(RecordSettings.from(env(s)).fileDir()).contains(tmp.resolve("files"));
        s.put("PAM_AUDIT_SINK", "redis");
        s.remove("PAM_AUDIT_FILE_DIR");
        assertThat(RecordSettings.from(env(s)).fileDir()).isEmpty();
    }

    @Test
    void aRouteWithPamRecordIsRefusedAtPrepareConfWhenTheSpoolDirectoryIsMissingOrUnsafe() throws Exception {
        RecordPluginFactory missing = new RecordPluginFactory(new PamServices(env(Map.of())));
        assertThatThrownBy(() -> missing.create(JsonNodeFactory.instance.objectNode()))
                .isInstanceOf(InvalidConfException.class).hasMessageContaining("PAM_AUDIT_SPOOL_DIR is not set");

        Path shared = Files.createDirectory(tmp.resolve("shared"));
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        RecordPluginFactory unsafe = new RecordPluginFactory(new PamServices(env(Map.of("PAM_AUDIT_SPOOL_DIR", shared.toString()))));
        assertThatThrownBy(() -> unsafe.create(JsonNodeFactory.instance.objectNode()))
                .isInstanceOf(InvalidConfException.class).hasMessageContaining("writable by every user");
        try (var files = Files.list(shared)) {
            assertThat(files).as("nothing written to the refused directory").isEmpty();
        }
    }
}

package io.inferencepam.pam.record.export;

import io.inferencepam.pam.record.archive.StreamId;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Where an export follower stands: the stream id of the last entry it delivered, in a one-line
 * file replaced atomically (written beside it, forced, renamed, directory forced), so a crash
 * leaves the old position or the new one, never a torn one.
 */
public final class PositionFile {
    private final Path file;

    public PositionFile(Path file) {
        this.file = file.toAbsolutePath();
    }

    /** The saved position; {@link StreamId#ZERO} (from the stream's start) when there is none yet. */
    public StreamId read() throws IOException {
        if (!Files.exists(file)) {
            return StreamId.ZERO;
        }
        String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
        try {
            return StreamId.parse(text);
        } catch (IllegalArgumentException e) {
            throw new IOException("position file " + file + " does not hold a stream id; fix or remove it");
        }
    }

    public void write(StreamId id) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer b = ByteBuffer.wrap((id + "\n").getBytes(StandardCharsets.US_ASCII));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            d.force(true);
        }
    }
}

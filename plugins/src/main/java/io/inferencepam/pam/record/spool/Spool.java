package io.inferencepam.pam.record.spool;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A local append-only file of chained entries waiting for the store, drained in order.
 * {@code spool.jsonl} holds one canonical entry per line; {@code spool.offset} the byte offset up
 * to which entries are confirmed stored (written atomically). When everything is drained both are
 * reset. Survives restarts: a new process drains what the last one left. Appends are fsynced.
 */
public final class Spool {
    private final Path dir;
    private final Path file;
    private final Path offsetFile;
    private final long maxBytes;
    private final long minFreeBytes;
    private long offset;
    /** The last append was refused for space; cleared by a successful append or a drain. */
    private boolean refused;

    public record Batch(List<String> lines, long endOffset) {
    }

    /** Thrown when an append would exceed the configured size or the disk's reserve. */
    public static final class SpoolFullException extends IOException {
        public SpoolFullException(String message) {
            super(message);
        }
    }

    public Spool(Path dir, long maxBytes, long minFreeBytes) throws IOException {
        this.dir = dir;
        this.file = dir.resolve("spool.jsonl");
        this.offsetFile = dir.resolve("spool.offset");
        this.maxBytes = maxBytes;
        this.minFreeBytes = minFreeBytes;
        Files.createDirectories(dir);
        offset = Files.exists(offsetFile) ? Long.parseLong(Files.readString(offsetFile).trim()) : 0;
        // An append cut short by a crash leaves a partial last line: drop it (it was never confirmed).
        if (Files.exists(file)) {
            trimPartialTail();
        }
        if (!Files.exists(file) || offset > Files.size(file)) {
            offset = 0;
        }
    }

    public Path dir() {
        return dir;
    }

    public synchronized long size() throws IOException {
        return Files.exists(file) ? Files.size(file) : 0;
    }

    public synchronized boolean hasPending() throws IOException {
        return size() > offset;
    }

    /** Whether an append of a typical batch would be accepted now (fail_closed asks this). */
    public synchronized boolean canAccept() {
        try {
            return !refused && Files.isWritable(dir) && size() < maxBytes && Files.getFileStore(dir).getUsableSpace() > minFreeBytes;
        } catch (IOException e) {
            return false;
        }
    }

    public synchronized void append(List<String> lines) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String l : lines) {
            sb.append(l).append('\n');
        }
        byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
        long size = size();
        if (size + bytes.length > maxBytes) {
            refused = true;
            throw new SpoolFullException("audit spool would exceed PAM_AUDIT_SPOOL_MAX_BYTES");
        }
        if (Files.getFileStore(dir).getUsableSpace() - bytes.length < minFreeBytes) {
            refused = true;
            throw new SpoolFullException("disk below PAM_AUDIT_SPOOL_MIN_FREE_BYTES");
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            try {
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(false);
            } catch (IOException e) {
                ch.truncate(size);
                refused = true;
                throw e;
            }
        }
        refused = false;
    }

    /** Up to {@code max} undrained lines, in order. */
    public synchronized Batch read(int max) throws IOException {
        List<String> lines = new ArrayList<>();
        long pos = offset;
        if (!Files.exists(file)) {
            return new Batch(lines, pos);
        }
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "r")) {
            raf.seek(pos);
            java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(1024);
            byte[] buf = new byte[64 * 1024];
            int n;
            outer:
            while ((n = raf.read(buf)) > 0) {
                for (int i = 0; i < n; i++) {
                    if (buf[i] == '\n') {
                        pos += line.size() + 1;
                        lines.add(line.toString(StandardCharsets.UTF_8));
                        line.reset();
                        if (lines.size() >= max) {
                            break outer;
                        }
                    } else {
                        line.write(buf[i]);
                    }
                }
            }
        }
        return new Batch(lines, pos);
    }

    /** Marks everything before {@code endOffset} as stored; resets the files when all is drained. */
    public synchronized void commit(long endOffset) throws IOException {
        offset = endOffset;
        refused = false;
        if (offset >= size()) {
            Files.deleteIfExists(file);
            offset = 0;
        }
        Path tmp = dir.resolve("spool.offset.tmp");
        Files.writeString(tmp, Long.toString(offset));
        Files.move(tmp, offsetFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private void trimPartialTail() throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = ch.size();
            long end = size;
            ByteBuffer one = ByteBuffer.allocate(1);
            while (end > 0) {
                one.clear();
                ch.read(one, end - 1);
                if (one.get(0) == '\n') {
                    break;
                }
                end--;
            }
            if (end < size) {
                ch.truncate(end);
            }
        }
    }
}

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
    private volatile long offset;
    /** The last append was refused for space; cleared by a successful append or a drain. */
    private volatile boolean refused;
    /** File size as of the last append or commit: read without the lock by {@link #canAccept}. */
    private volatile long knownSize;
    private volatile long freeCheckedAt;
    private volatile boolean enoughFree = true;

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
        knownSize = size();
    }

    public Path dir() {
        return dir;
    }

    public synchronized long size() throws IOException {
        return Files.exists(file) ? Files.size(file) : 0;
    }

    /** Lock-free (the writer asks on every step; an append may be holding the lock through an fsync). */
    public boolean hasPending() {
        return knownSize > offset;
    }

    /**
     * Whether an append would be accepted now (fail_closed asks this on the request path). Never
     * waits for the lock an fsync may hold; the disk check is refreshed at most once a second.
     */
    public boolean canAccept() {
        long now = System.nanoTime();
        if (now - freeCheckedAt > 1_000_000_000L) {
            try {
                enoughFree = Files.isWritable(dir) && Files.getFileStore(dir).getUsableSpace() > minFreeBytes;
            } catch (IOException e) {
                enoughFree = false;
            }
            freeCheckedAt = now;
        }
        return !refused && enoughFree && knownSize < maxBytes;
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
        knownSize = size + bytes.length;
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

    /** The last line appended (drained or not) and when the file was last written (epoch ms). */
    public record Tail(String line, long writtenAt) {
    }

    /**
     * The newest entry this spool made durable, if it holds any: a crash between an append and
     * the chain head's update leaves the head behind it, and the next start must not link a
     * second entry to the same place.
     */
    public synchronized java.util.Optional<Tail> tail() throws IOException {
        if (!Files.exists(file)) {
            return java.util.Optional.empty();
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long end = ch.size(); // whole lines only: a partial one was trimmed at open, appends end with '\n'
            if (end == 0) {
                return java.util.Optional.empty();
            }
            java.io.ByteArrayOutputStream reversed = new java.io.ByteArrayOutputStream(1024);
            ByteBuffer buf = ByteBuffer.allocate(8192);
            long pos = end - 1; // skip the final '\n'
            outer:
            while (pos > 0) {
                int n = (int) Math.min(buf.capacity(), pos);
                buf.clear().limit(n);
                ch.read(buf, pos - n);
                for (int i = n - 1; i >= 0; i--) {
                    if (buf.get(i) == '\n') {
                        break outer;
                    }
                    reversed.write(buf.get(i));
                }
                pos -= n;
            }
            byte[] line = reversed.toByteArray();
            for (int i = 0, j = line.length - 1; i < j; i++, j--) {
                byte t = line[i];
                line[i] = line[j];
                line[j] = t;
            }
            return java.util.Optional.of(new Tail(new String(line, StandardCharsets.UTF_8), Files.getLastModifiedTime(file).toMillis()));
        }
    }

    /** Marks everything before {@code endOffset} as stored; resets the files when all is drained. */
    public synchronized void commit(long endOffset) throws IOException {
        offset = endOffset;
        refused = false;
        if (offset >= size()) {
            Files.deleteIfExists(file);
            offset = 0;
        }
        knownSize = size();
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

package io.inferencepam.pam.record.sink;

import io.inferencepam.pam.record.chain.StoredEntry;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * JSON lines for SIEM shippers: {@code DIR/audit.jsonl}, one canonical entry per line, fsynced per
 * batch. When it reaches {@code maxBytes} it is renamed {@code audit-000001.jsonl},
 * {@code audit-000002.jsonl}, … (shippers that follow renames, e.g. Filebeat or Vector, keep up),
 * and the oldest rotated files beyond {@code maxFiles} are deleted (0 keeps all).
 */
public final class JsonLinesFileSink implements AuditSink {
    public static final String ACTIVE = "audit.jsonl";
    private static final Pattern ROTATED = Pattern.compile("audit-(\\d{6,})\\.jsonl");

    private final Path dir;
    private final long maxBytes;
    private final int maxFiles;
    private final Map<String, Long> written = new ConcurrentHashMap<>();

    public JsonLinesFileSink(Path dir, long maxBytes, int maxFiles) throws IOException {
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.maxFiles = maxFiles;
        Files.createDirectories(dir);
    }

    @Override
    public String kind() {
        return "file";
    }

    public Path dir() {
        return dir;
    }

    @Override
    public synchronized void write(List<ChainedEntry> batch) throws IOException {
        if (batch.isEmpty()) {
            return;
        }
        Path active = dir.resolve(ACTIVE);
        if (Files.exists(active) && Files.size(active) >= maxBytes) {
            rotate(active);
        }
        int size = 0;
        for (ChainedEntry e : batch) {
            size += e.utf8().length + 1;
        }
        ByteBuffer bytes = ByteBuffer.allocate(size);
        for (ChainedEntry e : batch) {
            bytes.put(e.utf8()).put((byte) '\n');
        }
        bytes.flip();
        try (FileChannel ch = FileChannel.open(active, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            long before = ch.size();
            try {
                while (bytes.hasRemaining()) {
                    ch.write(bytes);
                }
                ch.force(false);
            } catch (IOException e) {
                ch.truncate(before); // no half line: the batch is spooled and written again
                throw e;
            }
        }
        for (ChainedEntry e : batch) {
            written.merge(e.instance(), e.seq(), Math::max);
        }
    }

    private void rotate(Path active) throws IOException {
        List<Long> numbers = rotatedNumbers();
        long next = numbers.isEmpty() ? 1 : numbers.get(numbers.size() - 1) + 1;
        Files.move(active, dir.resolve(String.format("audit-%06d.jsonl", next)), StandardCopyOption.ATOMIC_MOVE);
        numbers.add(next);
        if (maxFiles > 0) {
            for (int i = 0; i < numbers.size() - maxFiles; i++) {
                Files.deleteIfExists(dir.resolve(String.format("audit-%06d.jsonl", numbers.get(i))));
            }
        }
    }

    private List<Long> rotatedNumbers() throws IOException {
        List<Long> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.forEach(p -> {
                Matcher m = ROTATED.matcher(p.getFileName().toString());
                if (m.matches()) {
                    out.add(Long.parseLong(m.group(1)));
                }
            });
        }
        out.sort(null);
        return out;
    }

    /** Files in storage order: rotated ones by number, then the active one. */
    public List<Path> files() throws IOException {
        List<Path> out = new ArrayList<>();
        for (long n : rotatedNumbers()) {
            out.add(dir.resolve(String.format("audit-%06d.jsonl", n)));
        }
        Path active = dir.resolve(ACTIVE);
        if (Files.exists(active)) {
            out.add(active);
        }
        return out;
    }

    @Override
    public long highestSeq(String instance) {
        // Failed writes are truncated back, so what this process wrote is exactly what it confirmed.
        return written.getOrDefault(instance, 0L);
    }

    /** Rotation deletes the oldest files only when {@code maxFiles} is set. */
    @Override
    public io.inferencepam.pam.record.chain.ChainVerifier.Retention retention() {
        return maxFiles > 0 ? io.inferencepam.pam.record.chain.ChainVerifier.Retention.UNKNOWN
                : io.inferencepam.pam.record.chain.ChainVerifier.Retention.NONE;
    }

    @Override
    public void scan(long fromEpochMillis, Predicate<StoredEntry> visitor) throws IOException {
        scanFiles(files(), visitor);
    }

    /** Reads JSON-lines files in the given order (also used by {@code pamctl audit verify --file}). */
    public static void scanFiles(List<Path> files, Predicate<StoredEntry> visitor) throws IOException {
        for (Path f : files) {
            try (BufferedReader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
                String line;
                int n = 0;
                while ((line = r.readLine()) != null) {
                    n++;
                    if (line.isEmpty()) {
                        continue;
                    }
                    if (!visitor.test(new StoredEntry(f.getFileName() + ":" + n, line))) {
                        return;
                    }
                }
            }
        }
    }
}

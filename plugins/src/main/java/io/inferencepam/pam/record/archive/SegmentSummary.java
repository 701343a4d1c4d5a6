package io.inferencepam.pam.record.archive;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.HashChain;
import io.inferencepam.pam.record.chain.StoredEntry;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a manifest line says about one segment: its stream ids, entry count, the SHA-256 of the
 * file's bytes, and per writer instance the first and last seq and the last entry's hash (where
 * each chain stands at the segment's end). Built while a segment is written, or from a file.
 */
public record SegmentSummary(StreamId first, StreamId last, long entries, String sha256, List<InstanceRange> instances) {

    /** One writer instance's part of a segment. */
    public record InstanceRange(String instance, long firstSeq, long lastSeq, String lastHash) {
    }

    /** Collects instance ranges entry by entry; reads only the top-level chain fields. */
    static final class Ranges {
        private final Map<String, long[]> seqs = new LinkedHashMap<>();
        private final Map<String, String> lastHash = new LinkedHashMap<>();

        void add(String entryJson) {
            String instance = null;
            long seq = -1;
            String hash = null;
            try (JsonParser p = CanonicalJson.MAPPER.getFactory().createParser(entryJson)) {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    return;
                }
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    JsonToken t = p.nextToken();
                    if (HashChain.INSTANCE.equals(name) && t == JsonToken.VALUE_STRING) {
                        instance = p.getText();
                    } else if (HashChain.SEQ.equals(name) && t == JsonToken.VALUE_NUMBER_INT) {
                        seq = p.getLongValue();
                    } else if (HashChain.HASH.equals(name) && t == JsonToken.VALUE_STRING) {
                        hash = p.getText();
                    } else {
                        p.skipChildren();
                    }
                }
            } catch (IOException e) {
                return; // not an entry a runner wrote: verify reports it; the manifest just does not count it
            }
            if (instance == null || seq < 0) {
                return;
            }
            long at = seq;
            long[] r = seqs.computeIfAbsent(instance, k -> new long[] {at, at});
            r[1] = seq;
            lastHash.put(instance, hash == null ? "" : hash);
        }

        List<InstanceRange> ranges() {
            List<InstanceRange> out = new ArrayList<>();
            seqs.forEach((i, r) -> out.add(new InstanceRange(i, r[0], r[1], lastHash.get(i))));
            return out;
        }
    }

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The SHA-256 of a file's bytes, hex. */
    public static String sha256Of(Path file) throws IOException {
        MessageDigest md = newDigest();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** Reads a segment file (a segment written before a crash, or one adopted from before manifests). */
    static SegmentSummary of(ArchiveDirectory.Segment segment) throws IOException {
        Ranges ranges = new Ranges();
        long[] n = {0};
        ArchiveDirectory.scan(List.of(segment.path()), (StoredEntry e) -> {
            n[0]++;
            ranges.add(e.json());
            return true;
        });
        return new SegmentSummary(segment.first(), segment.last(), n[0], sha256Of(segment.path()), ranges.ranges());
    }
}

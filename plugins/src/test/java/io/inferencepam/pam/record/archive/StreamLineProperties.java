package io.inferencepam.pam.record.archive;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.StoredEntry;
import java.nio.charset.StandardCharsets;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;

/** The archive/export envelope keeps the entry byte for byte, and no canonical entry can pass for an envelope. */
class StreamLineProperties {

    @Property
    void anEntryComesBackExactlyAsStored(@ForAll @LongRange(min = 0) long ms, @ForAll @LongRange(min = 0) long seq,
                                         @ForAll String text) {
        ObjectNode n = CanonicalJson.MAPPER.createObjectNode().put("instance", "a").put("seq", seq).put("text", text);
        String entry = CanonicalJson.write(n);
        String id = ms + "-" + seq;
        String line = new String(StreamLine.encodeUtf8(id, entry), StandardCharsets.UTF_8);
        assertThat(line).endsWith("\n").doesNotContain("\r").satisfies(l -> assertThat(l.indexOf('\n')).isEqualTo(l.length() - 1));
        StoredEntry back = StreamLine.decode(line.substring(0, line.length() - 1), "f:1");
        assertThat(back).isEqualTo(new StoredEntry(id, entry));
    }

    @Property
    void aCanonicalEntryIsNeverReadAsAnEnvelope(@ForAll String streamId, @ForAll String text) {
        // even one that has both envelope keys: canonical order puts "entry" first
        ObjectNode n = CanonicalJson.MAPPER.createObjectNode().put("stream_id", streamId).put("entry", text);
        String entry = CanonicalJson.write(n);
        assertThat(StreamLine.decode(entry, "f:7")).isEqualTo(new StoredEntry("f:7", entry));
    }
}

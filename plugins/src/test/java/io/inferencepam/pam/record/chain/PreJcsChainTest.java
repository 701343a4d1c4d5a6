package io.inferencepam.pam.record.chain;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Chains written before the canonical form became RFC 8785 still verify. {@code pre-jcs-chain.jsonl}
 * was written by the previous writer (main before this change): five linked entries whose strings
 * hold controls with and without short escapes, lone surrogates (stored as {@code ?}), pairs, and
 * other non-ASCII text. Two of them (controls whose hex has a letter) differ from their JCS form.
 */
class PreJcsChainTest {
    private static final ChainVerifier VERIFIER = new ChainVerifier(Optional.empty(), true);

    static List<StoredEntry> preJcsChain() throws Exception {
        try (InputStream in = PreJcsChainTest.class.getResourceAsStream("pre-jcs-chain.jsonl")) {
            List<StoredEntry> out = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                out.add(new StoredEntry("line" + (out.size() + 1), line));
            }
            return out;
        }
    }

    @Test
    void aChainWrittenBeforeJcsVerifies() throws Exception {
        List<StoredEntry> chain = preJcsChain();
        // what differs: the uppercase hex of the second and third entries' escapes
        for (int i = 0; i < chain.size(); i++) {
            boolean same = CanonicalJson.write(CanonicalJson.parse(chain.get(i).json())).equals(chain.get(i).json());
            assertThat(same).as("entry %d is its JCS form", i + 1).isEqualTo(i != 1 && i != 2);
        }
        ChainVerifier.Report r = VERIFIER.verify(chain);
        assertThat(r.findings()).isEmpty();
        assertThat(r.instances()).singleElement().satisfies(s -> assertThat(s.lastSeq()).isEqualTo(5));
    }

    @Test
    void aModifiedPreJcsEntryIsNamed() throws Exception {
        List<StoredEntry> chain = preJcsChain();
        String line = chain.get(1).json();
        chain.set(1, new StoredEntry("line2", line.replace("\\u001B[31mred", "\\u001B[32mred")));
        assertThat(VERIFIER.verify(chain).findings()).anySatisfy(f -> {
            assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.MODIFIED);
            assertThat(f.seq()).isEqualTo(2);
        });
    }

    /** The old form is accepted only as a whole: a line in JCS form whose hash is the old form's is not. */
    @Test
    void aPreJcsHashOnAJcsLineIsNotAccepted() throws Exception {
        List<StoredEntry> chain = preJcsChain();
        ObjectNode n = (ObjectNode) CanonicalJson.parse(chain.get(1).json());
        chain.set(1, new StoredEntry("line2", CanonicalJson.write(n))); // lowercase escapes, same (old) hash
        assertThat(VERIFIER.verify(chain).findings()).anySatisfy(f -> assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.MODIFIED));
    }
}

package io.inferencepam.pam.record.chain;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class ChainVerifierTest {
    private static final String[] KEYS = CheckpointSigner.generate();
    private static final CheckpointSigner SIGNER = CheckpointSigner.fromPkcs8Base64(KEYS[0]);
    private static final ChainVerifier VERIFIER = new ChainVerifier(Optional.of(CheckpointSigner.publicKeyFromBase64(KEYS[1])), false);
    private static final ChainVerifier COMPLETE = new ChainVerifier(Optional.of(CheckpointSigner.publicKeyFromBase64(KEYS[1])), true);

    /** n call entries, a signed checkpoint after every 4th and at the end. */
    static List<StoredEntry> chain(int n) {
        HashChain c = new HashChain("runner-a");
        List<StoredEntry> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            ObjectNode r = CanonicalJson.MAPPER.createObjectNode();
            r.put("kind", "call");
            r.put("id", "req-" + i);
            r.put("body", "hello \"" + i + "\" \u00e9\u6771");
            String fast = c.linkAndWrite(r);
            // the writer's one-pass serialization is exactly the canonical form
            org.assertj.core.api.Assertions.assertThat(fast).isEqualTo(CanonicalJson.write(r));
            org.assertj.core.api.Assertions.assertThat(HashChain.hashOf(r)).isEqualTo(r.get(HashChain.HASH).asText());
            out.add(new StoredEntry("e" + out.size(), fast));
            if (i % 4 == 0 || i == n) {
                ObjectNode cp = CanonicalJson.MAPPER.createObjectNode();
                cp.put("kind", "checkpoint");
                c.link(cp);
                cp.put(HashChain.SIG, SIGNER.sign(cp.get(HashChain.HASH).asText()));
                out.add(new StoredEntry("e" + out.size(), CanonicalJson.write(cp)));
            }
        }
        return out;
    }

    private static ObjectNode node(StoredEntry e) throws Exception {
        return (ObjectNode) CanonicalJson.parse(e.json());
    }

    private static long seqOf(StoredEntry e) throws Exception {
        return node(e).get("seq").asLong();
    }

    @Test
    void anUntouchedChainIsClean() {
        ChainVerifier.Report r = VERIFIER.verify(chain(10));
        assertThat(r.findings()).isEmpty();
        assertThat(r.instances()).singleElement().satisfies(s -> {
            assertThat(s.lastSeq()).isEqualTo(13);
            assertThat(s.lastSignedSeq()).isEqualTo(13);
        });
    }

    @Test
    void canonicalJsonIsStableThroughParsing() throws Exception {
        for (StoredEntry e : chain(5)) {
            assertThat(CanonicalJson.write(CanonicalJson.parse(e.json()))).isEqualTo(e.json());
        }
    }

    @Test
    void aModifiedRecordIsNamed() throws Exception {
        List<StoredEntry> c = chain(10);
        ObjectNode n = node(c.get(2));
        n.put("body", "changed");
        c.set(2, new StoredEntry("e2", CanonicalJson.write(n)));
        assertThat(VERIFIER.verify(c).findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.MODIFIED);
            assertThat(f.seq()).isEqualTo(3);
            assertThat(f.position()).isEqualTo("e2");
        });
    }

    @Test
    void aModifiedAndRehashedRecordIsNamed() throws Exception {
        List<StoredEntry> c = chain(10);
        ObjectNode n = node(c.get(2));
        n.put("body", "changed");
        n.put(HashChain.HASH, HashChain.hashOf(n));
        c.set(2, new StoredEntry("e2", CanonicalJson.write(n)));
        assertThat(VERIFIER.verify(c).findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.MODIFIED);
            assertThat(f.seq()).isEqualTo(3);
        });
    }

    @Test
    void aDeletedRecordIsNamed() {
        List<StoredEntry> c = chain(10);
        c.remove(6);
        assertThat(VERIFIER.verify(c).findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.DELETED);
            assertThat(f.seq()).isEqualTo(7);
        });
    }

    @Test
    void anInsertedForeignRecordIsNamed() {
        List<StoredEntry> c = chain(10);
        c.add(3, new StoredEntry("x", "{\"kind\":\"call\",\"id\":\"forged\"}"));
        assertThat(VERIFIER.verify(c).findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.INSERTED);
            assertThat(f.position()).isEqualTo("x");
        });
    }

    @Test
    void anInsertedRecordClaimingASequenceNumberIsNamed() throws Exception {
        List<StoredEntry> c = chain(10);
        ObjectNode forged = node(c.get(4)); // claims seq 5 with seq 4's hash as prev
        forged.put("id", "forged");
        forged.put(HashChain.HASH, HashChain.hashOf(forged));
        c.add(5, new StoredEntry("forged", CanonicalJson.write(forged)));
        List<ChainVerifier.Finding> f = VERIFIER.verify(c).findings();
        assertThat(f).extracting(ChainVerifier.Finding::kind).contains(ChainVerifier.Kind.INSERTED)
                .doesNotContain(ChainVerifier.Kind.MODIFIED, ChainVerifier.Kind.DELETED);
        assertThat(f).filteredOn(x -> x.kind() == ChainVerifier.Kind.INSERTED).singleElement()
                .satisfies(x -> assertThat(x.position()).isEqualTo("forged"));
    }

    @Test
    void reorderedRecordsAreNamed() {
        List<StoredEntry> c = chain(10);
        StoredEntry a = c.get(2);
        c.set(2, c.get(3));
        c.set(3, a);
        assertThat(VERIFIER.verify(c).findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.REORDERED);
            assertThat(f.seq()).isEqualTo(3);
        });
    }

    @Test
    void aDuplicateIsNamed() {
        List<StoredEntry> c = chain(6);
        c.add(3, new StoredEntry("dup", c.get(2).json()));
        assertThat(VERIFIER.verify(c).findings()).extracting(ChainVerifier.Finding::kind).containsExactly(ChainVerifier.Kind.DUPLICATE);
    }

    @Test
    void aForgedCheckpointSignatureIsNamed() throws Exception {
        List<StoredEntry> c = chain(8);
        ObjectNode cp = node(c.get(4));
        assertThat(cp.get("kind").asText()).isEqualTo("checkpoint");
        String[] other = CheckpointSigner.generate();
        cp.put(HashChain.SIG, CheckpointSigner.fromPkcs8Base64(other[0]).sign(cp.get(HashChain.HASH).asText()));
        c.set(4, new StoredEntry("e4", CanonicalJson.write(cp)));
        assertThat(VERIFIER.verify(c).findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.BAD_SIGNATURE);
            assertThat(f.seq()).isEqualTo(5);
        });
    }

    @Test
    void aCheckpointWhoseSignatureWasRemovedIsNamedEvenWithoutAKey() throws Exception {
        List<StoredEntry> c = chain(8);
        ObjectNode cp = node(c.get(4));
        cp.remove(HashChain.SIG); // the hash does not cover the signature: content and links stay intact
        c.set(4, new StoredEntry("e4", CanonicalJson.write(cp)));
        for (ChainVerifier v : List.of(VERIFIER, new ChainVerifier(Optional.empty(), false))) {
            assertThat(v.verify(c).findings()).singleElement().satisfies(f -> {
                assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.UNSIGNED_CHECKPOINT);
                assertThat(f.seq()).isEqualTo(5);
            });
        }
    }

    @Test
    void rewritingTheWholeChainWithoutTheKeyBreaksTheCheckpoints() throws Exception {
        // An attacker who re-hashes everything after a change still cannot re-sign.
        List<StoredEntry> c = chain(8);
        HashChain forged = new HashChain("runner-a");
        List<StoredEntry> out = new ArrayList<>();
        for (StoredEntry e : c) {
            ObjectNode n = node(e);
            if ("req-2".equals(n.path("id").asText())) {
                n.put("body", "changed");
            }
            String sig = n.path(HashChain.SIG).asText(null);
            forged.link(n);
            if (sig != null) {
                n.put(HashChain.SIG, sig);
            }
            out.add(new StoredEntry(e.position(), CanonicalJson.write(n)));
        }
        assertThat(VERIFIER.verify(out).findings()).extracting(ChainVerifier.Finding::kind)
                .containsOnly(ChainVerifier.Kind.BAD_SIGNATURE).isNotEmpty();
    }

    @Test
    void aTrimmedHeadIsANoteUnlessCompletenessIsExpected() {
        List<StoredEntry> c = chain(10).subList(3, 13);
        ChainVerifier.Report r = VERIFIER.verify(c);
        assertThat(r.findings()).isEmpty();
        assertThat(r.notes()).anyMatch(n -> n.contains("seq 1..3"));
        ChainVerifier strict = new ChainVerifier(Optional.of(CheckpointSigner.publicKeyFromBase64(KEYS[1])), true);
        assertThat(strict.verify(c).findings()).extracting(ChainVerifier.Finding::kind).containsExactly(ChainVerifier.Kind.DELETED);
    }

    enum Tamper { MODIFY, MODIFY_REHASH, DELETE, SWAP }

    @Property(tries = 200)
    void everySingleTamperingIsFoundAndLocated(@ForAll @IntRange(min = 3, max = 30) int n,
                                               @ForAll @IntRange(min = 1, max = 1000) int where,
                                               @ForAll Tamper tamper) throws Exception {
        List<StoredEntry> c = chain(n);
        // never the last entry: a truncated or rewritten tail after the last checkpoint is the documented limit
        int i = where % (c.size() - 2);
        long seq = seqOf(c.get(i));
        ChainVerifier.Kind expected;
        switch (tamper) {
            case MODIFY -> {
                ObjectNode x = node(c.get(i));
                x.put("injected", true);
                c.set(i, new StoredEntry(c.get(i).position(), CanonicalJson.write(x)));
                expected = ChainVerifier.Kind.MODIFIED;
            }
            case MODIFY_REHASH -> {
                ObjectNode x = node(c.get(i));
                x.put("injected", true);
                x.put(HashChain.HASH, HashChain.hashOf(x));
                c.set(i, new StoredEntry(c.get(i).position(), CanonicalJson.write(x)));
                expected = ChainVerifier.Kind.MODIFIED;
            }
            case DELETE -> {
                c.remove(i);
                expected = ChainVerifier.Kind.DELETED;
            }
            default -> {
                StoredEntry a = c.get(i);
                c.set(i, c.get(i + 1));
                c.set(i + 1, a);
                expected = ChainVerifier.Kind.REORDERED;
            }
        }
        // complete-head mode: these chains start at seq 1, so a missing head is a deletion
        List<ChainVerifier.Finding> f = COMPLETE.verify(c).findings();
        assertThat(f).as("%s at seq %d", tamper, seq).isNotEmpty();
        assertThat(f.get(0).kind()).isIn(expected, ChainVerifier.Kind.BAD_SIGNATURE);
        assertThat(f).anySatisfy(x -> {
            assertThat(x.kind()).isEqualTo(expected);
            assertThat(x.seq()).isEqualTo(seq);
        });
    }

    @Test
    void theOnePassSerializationMatchesForAnyFieldLayout() {
        for (String[] names : new String[][] {{"a"}, {"z"}, {"a", "z"}, {}, {"hasi", "hasj"}}) {
            HashChain c = new HashChain("i");
            ObjectNode r = CanonicalJson.MAPPER.createObjectNode();
            for (String n : names) {
                r.put(n, n + "\u00e9\"");
            }
            String fast = c.linkAndWrite(r);
            assertThat(fast).isEqualTo(CanonicalJson.write(r));
        }
    }
}

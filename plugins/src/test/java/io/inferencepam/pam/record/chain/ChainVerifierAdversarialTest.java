package io.inferencepam.pam.record.chain;

import static io.inferencepam.pam.record.chain.ChainVerifierAnchoringTest.anchor;
import static io.inferencepam.pam.record.chain.ChainVerifierAnchoringTest.kinds;
import static io.inferencepam.pam.record.chain.ChainVerifierAnchoringTest.verifier;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.record.chain.ChainVerifierAnchoringTest.Builder;
import java.security.PublicKey;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Tamperings by someone who can write the store (not the runner's disk or key) that verified
 * clean, or only "not verified", before the review of issue 10 item 13.
 */
class ChainVerifierAdversarialTest {
    /** The key {@link Builder} signs with. */
    private static final PublicKey PUB = ChainVerifierAnchoringTest.PUB;
    private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

    /**
     * The hash is taken over the canonical form of the parsed entry. A duplicate key (the parser
     * keeps the last) changes what a first-wins reader (a SIEM, a script) sees without changing
     * that form: the stored bytes must be the canonical form itself.
     */
    @Test
    void aDuplicateKeyOrOtherNonCanonicalTextIsModified() {
        Builder b = new Builder(new HashChain("a")).checkpoint(anchor("genesis", 0));
        ObjectNode call = CanonicalJson.MAPPER.createObjectNode();
        call.put("kind", "call");
        call.put("model", "llama-3-8b");
        b.add(call, false).checkpoint(null);
        Instant now = Instant.ofEpochMilli(b.ms);
        assertThat(verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(), now).verify(b.out).clean()).isTrue();

        StoredEntry genuine = b.out.get(1);
        for (String forged : List.of("{\"model\":\"gpt-4o\"," + genuine.json().substring(1), // first-wins readers see gpt-4o
                genuine.json().replace("\"model\":", "\"model\" : "),
                genuine.json().replace("llama", "\\u006Clama"))) {
            List<StoredEntry> tampered = new ArrayList<>(b.out);
            tampered.set(1, new StoredEntry(genuine.position(), forged));
            ChainVerifier.Report r = verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(), now).verify(tampered);
            assertThat(r.findings()).as(forged).singleElement().satisfies(f -> {
                assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.MODIFIED);
                assertThat(f.seq()).isEqualTo(2);
            });
        }
    }

    /**
     * With an age limit, a cut of a chain's head used to be retention whenever the first entry
     * left was not an anchor: a whole young lifetime's start could go. The checkpoint after the
     * cut names when the one before it was made: what the cut took is at least that young.
     */
    @Test
    void aCutInsideALifetimeYoungerThanTheAgeLimitIsADeletion() {
        Builder b = new Builder(new HashChain("a")).checkpoint(anchor("genesis", 0));
        long anchorAt = b.ms - 1000;
        b.call().call();
        b.checkpoint(prevCheckpointAt(anchorAt)).call().call();
        long secondAt = b.ms - 3000;
        b.checkpoint(prevCheckpointAt(secondAt));
        List<StoredEntry> cut = new ArrayList<>(b.out.subList(5, b.out.size())); // seq 1..5: the anchor, calls, a checkpoint
        Instant now = Instant.ofEpochMilli(b.ms);
        ChainVerifier.Retention weekByAge = new ChainVerifier.Retention(false, Duration.ofDays(7));

        assertThat(kinds(verifier(List.of(PUB), weekByAge, List.of(), now).verify(cut))).containsExactly(ChainVerifier.Kind.DELETED);
        // a week and more later, age retention may have removed them
        ChainVerifier.Report later = verifier(List.of(PUB), weekByAge, List.of(), now.plus(Duration.ofDays(8))).verify(cut);
        assertThat(later.findings()).isEmpty();
        assertThat(later.notes()).anyMatch(n -> n.contains("seq 1..5 not stored"));
    }

    /**
     * Retention by length removes the stream's oldest entries first. A deleted lifetime whose
     * successor's anchor says it ended after the oldest entry still stored cannot have been
     * trimmed, however long the stream is (it refills as runners write).
     */
    @Test
    void aLifetimeDeletedAfterTheOldestStoredEntryIsNotLengthRetention() {
        List<StoredEntry> other = new Builder(new HashChain("b")).checkpoint(anchor("genesis", 0)).call().checkpoint(null).out;
        Builder a = new Builder(new HashChain("a"));
        a.ms = T0.plus(Duration.ofHours(1)).toEpochMilli();
        a.checkpoint(anchor("genesis", 0)).call().call().checkpoint(null);
        a.ms += Duration.ofMinutes(30).toMillis();
        long prevAt = a.ms - Duration.ofMinutes(30).toMillis();
        a.checkpoint(anchor("local", prevAt)).call().checkpoint(null);
        List<StoredEntry> store = new ArrayList<>(other);
        store.addAll(a.out.subList(4, a.out.size())); // a's first lifetime deleted
        Instant now = Instant.ofEpochMilli(a.ms);
        ChainVerifier.Retention full = new ChainVerifier.Retention(true, Duration.ZERO);

        ChainVerifier.Report r = verifier(List.of(PUB), full, List.of(), now).verify(store);
        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.DELETED);
            assertThat(f.instance()).isEqualTo("a");
        });
        // the same lifetime, ended before the oldest entry still stored: retention may have trimmed it
        List<StoredEntry> trimmed = new ArrayList<>(a.out.subList(4, a.out.size()));
        assertThat(verifier(List.of(PUB), full, List.of(), now).verify(trimmed).findings()).isEmpty();
    }

    /** A store emptied (DEL) has nothing signed: not verified, never "OK". */
    @Test
    void anEmptyStoreIsNotVerified() {
        ChainVerifier.Report r = verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(), T0).verify(List.of());
        assertThat(r.clean()).isTrue();
        assertThat(r.verified()).isFalse();
        assertThat(r.notes()).anyMatch(n -> n.contains("no signed checkpoint"));
    }

    /**
     * A runner signs a whole lifetime with one key. Checkpoints re-signed with the attacker's own
     * key after a rewrite, inside a lifetime whose anchor a given key verified, are a bad
     * signature, not "a key you did not give".
     */
    @Test
    void aKeyChangeInsideALifetimeIsABadSignature() {
        Builder b = new Builder(new HashChain("a")).checkpoint(anchor("genesis", 0)).call().call();
        String[] attacker = CheckpointSigner.generate();
        PublicKey attackerPub = CheckpointSigner.publicKeyFromBase64(attacker[1]);
        CheckpointSigner forger = CheckpointSigner.fromPkcs8Base64(attacker[0]).withPublicKey(attackerPub);
        ObjectNode cp = CanonicalJson.MAPPER.createObjectNode();
        cp.put("kind", "checkpoint");
        cp.put("interval_ms", 60_000);
        cp.put("key_id", forger.keyId().orElseThrow());
        b.chain.link(cp);
        cp.put(HashChain.SIG, forger.sign(cp.get(HashChain.HASH).asText()));
        b.out.add(new StoredEntry(b.ms + "-0", CanonicalJson.write(cp)));
        Instant now = Instant.ofEpochMilli(b.ms);

        for (List<PublicKey> keys : List.of(List.of(PUB), List.of(PUB, attackerPub))) {
            ChainVerifier.Report r = verifier(keys, ChainVerifier.Retention.NONE, List.of(), now).verify(b.out);
            assertThat(r.findings()).singleElement().satisfies(f -> {
                assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.BAD_SIGNATURE);
                assertThat(f.seq()).isEqualTo(4);
            });
        }
    }

    private static ObjectNode prevCheckpointAt(long ms) {
        ObjectNode f = CanonicalJson.MAPPER.createObjectNode();
        f.put(ChainVerifier.PREV_CHECKPOINT_AT, ms);
        return f;
    }
}

package io.inferencepam.pam.record.chain;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.PublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Issue 10 item 13 in the verifier: signatures are only "verified" with a given key (named by
 * {@code key_id}); entries a checkpoint should long have covered are a possible truncation;
 * missing heads are deletions where retention cannot explain them; the verifying runner's own
 * head must still be in the store; re-anchorings are reported.
 */
class ChainVerifierAnchoringTest {
    private static final String[] KEYS = CheckpointSigner.generate();
    static final PublicKey PUB = CheckpointSigner.publicKeyFromBase64(KEYS[1]);
    private static final CheckpointSigner SIGNER = CheckpointSigner.fromPkcs8Base64(KEYS[0]).withPublicKey(PUB);
    private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");

    /** Entries stored one second apart from T0 (stream ids), a signed checkpoint where {@code checkpointAfter} says. */
    static final class Builder {
        final HashChain chain;
        final List<StoredEntry> out = new ArrayList<>();
        long ms = T0.toEpochMilli();

        Builder(HashChain chain) {
            this.chain = chain;
        }

        Builder call() {
            ObjectNode r = CanonicalJson.MAPPER.createObjectNode();
            r.put("kind", "call");
            r.put("id", "req-" + out.size());
            return add(r, false);
        }

        Builder checkpoint(ObjectNode extra) {
            ObjectNode cp = CanonicalJson.MAPPER.createObjectNode();
            if (extra != null) {
                cp.setAll(extra);
            }
            cp.put("kind", "checkpoint");
            cp.put("interval_ms", 60_000);
            cp.put("key_id", SIGNER.keyId().orElseThrow());
            return add(cp, true);
        }

        Builder add(ObjectNode n, boolean sign) {
            chain.link(n);
            if (sign) {
                n.put(HashChain.SIG, SIGNER.sign(n.get(HashChain.HASH).asText()));
            }
            out.add(new StoredEntry(ms + "-0", CanonicalJson.write(n)));
            ms += 1000;
            return this;
        }
    }

    static ObjectNode anchor(String source, long prevAt) {
        ObjectNode a = CanonicalJson.MAPPER.createObjectNode();
        a.put("source", source);
        if (prevAt > 0) {
            a.put("prev_at", prevAt);
        }
        ObjectNode f = CanonicalJson.MAPPER.createObjectNode();
        f.set("anchor", a);
        return f;
    }

    static ChainVerifier verifier(List<PublicKey> keys, ChainVerifier.Retention retention, List<ChainHead> heads, Instant now) {
        return new ChainVerifier(new ChainVerifier.Options(keys, false, retention, heads, Clock.fixed(now, ZoneOffset.UTC),
                Duration.ofMinutes(1)));
    }

    static List<ChainVerifier.Kind> kinds(ChainVerifier.Report r) {
        return r.findings().stream().map(ChainVerifier.Finding::kind).toList();
    }

    @Test
    void aSignedChainIsVerifiedOnlyWithItsKey() {
        List<StoredEntry> c = new Builder(new HashChain("a")).checkpoint(anchor("genesis", 0)).call().call().checkpoint(null).out;
        Instant now = T0.plusSeconds(10);
        ChainVerifier.Report withKey = verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(), now).verify(c);
        assertThat(withKey.clean()).isTrue();
        assertThat(withKey.verified()).isTrue();

        ChainVerifier.Report noKey = verifier(List.of(), ChainVerifier.Retention.NONE, List.of(), now).verify(c);
        assertThat(noKey.clean()).isTrue();
        assertThat(noKey.verified()).isFalse();
        assertThat(noKey.notes()).anyMatch(n -> n.contains("no public key"));

        PublicKey other = CheckpointSigner.publicKeyFromBase64(CheckpointSigner.generate()[1]);
        ChainVerifier.Report otherKey = verifier(List.of(other), ChainVerifier.Retention.NONE, List.of(), now).verify(c);
        assertThat(otherKey.verified()).isFalse();
        assertThat(otherKey.notes()).anyMatch(n -> n.contains("not among the given public keys"));
        // with several keys, key_id picks the right one
        assertThat(verifier(List.of(other, PUB), ChainVerifier.Retention.NONE, List.of(), now).verify(c).verified()).isTrue();
    }

    @Test
    void entriesLeftWithoutACheckpointForTwiceTheIntervalAreAPossibleTruncation() {
        // the attacker cut the checkpoint that followed the two calls
        List<StoredEntry> c = new Builder(new HashChain("a")).checkpoint(anchor("genesis", 0)).call().call().out;
        Instant stored = T0.plusSeconds(1);
        assertThat(verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(), stored.plusSeconds(119)).verify(c).clean()).isTrue();
        ChainVerifier.Report late = verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(), stored.plusSeconds(121)).verify(c);
        assertThat(late.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.POSSIBLE_TRUNCATION);
            assertThat(f.seq()).isEqualTo(2);
        });
        // an idle runner: the newest checkpoint is old, and nothing comes after it
        List<StoredEntry> idle = new Builder(new HashChain("a")).checkpoint(anchor("genesis", 0)).call().checkpoint(null).out;
        assertThat(verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(), T0.plus(Duration.ofDays(3))).verify(idle).clean())
                .isTrue();
    }

    @Test
    void aMissingHeadIsADeletionWhereRetentionCannotExplainIt() {
        Builder b = new Builder(new HashChain("a")).checkpoint(anchor("genesis", 0)).call().call().checkpoint(null);
        long prevAt = b.ms;
        b.checkpoint(anchor("local", prevAt)).call().checkpoint(null);
        List<StoredEntry> secondLifetimeOnly = new ArrayList<>(b.out.subList(4, b.out.size()));
        Instant now = Instant.ofEpochMilli(b.ms);

        assertThat(kinds(verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(), now).verify(secondLifetimeOnly)))
                .containsExactly(ChainVerifier.Kind.DELETED);
        ChainVerifier.Report trimmed = verifier(List.of(PUB), new ChainVerifier.Retention(true, Duration.ZERO), List.of(), now)
                .verify(secondLifetimeOnly);
        assertThat(trimmed.clean()).isTrue();
        assertThat(trimmed.notes()).anyMatch(n -> n.contains("seq 1..4 not stored"));
        // an age limit explains it only for entries older than the limit
        assertThat(kinds(verifier(List.of(PUB), new ChainVerifier.Retention(false, Duration.ofDays(7)), List.of(), now)
                .verify(secondLifetimeOnly))).containsExactly(ChainVerifier.Kind.DELETED);
        assertThat(verifier(List.of(PUB), new ChainVerifier.Retention(false, Duration.ofDays(7)), List.of(), now.plus(Duration.ofDays(8)))
                .verify(secondLifetimeOnly).findings()).isEmpty();
    }

    @Test
    void theVerifyingRunnersStoredHeadMustStillBeInTheStore() {
        Builder b = new Builder(new HashChain("a")).checkpoint(anchor("genesis", 0)).call().call().checkpoint(null);
        ChainHead head = new ChainHead("a", 4, parse(b.out.get(3)).get("hash").asText(), 0);
        Instant now = Instant.ofEpochMilli(b.ms);
        List<StoredEntry> cut = new ArrayList<>(b.out.subList(0, 2));
        assertThat(verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(head), now).verify(b.out).clean()).isTrue();
        ChainVerifier.Report r = verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(head), now).verify(cut);
        assertThat(r.findings()).singleElement().satisfies(f -> {
            assertThat(f.kind()).isEqualTo(ChainVerifier.Kind.DELETED);
            assertThat(f.detail()).contains("seq 3..4");
        });
        assertThat(kinds(verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(head), now).verify(List.of())))
                .containsExactly(ChainVerifier.Kind.DELETED);
    }

    @Test
    void aReanchoringIsReportedAndALocalHeadItNamesIsChecked() {
        Builder b = new Builder(new HashChain("gw-1")).checkpoint(anchor("genesis", 0)).call().call();
        b.checkpoint(anchor("store", 0)).call().checkpoint(null);
        ChainVerifier.Report r = verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(), Instant.ofEpochMilli(b.ms)).verify(b.out);
        assertThat(r.clean()).isTrue();
        assertThat(r.notes()).anyMatch(n -> n.contains("re-anchored at seq 4"));

        ObjectNode named = anchor("local", 1);
        ((ObjectNode) named.get("anchor")).put("local_seq", 2);
        ((ObjectNode) named.get("anchor")).put("local_hash", "0".repeat(64)); // not what is stored at seq 2
        Builder c = new Builder(new HashChain("gw-2")).checkpoint(anchor("genesis", 0)).call().call().checkpoint(named);
        assertThat(kinds(verifier(List.of(PUB), ChainVerifier.Retention.NONE, List.of(), Instant.ofEpochMilli(c.ms)).verify(c.out)))
                .containsExactly(ChainVerifier.Kind.MODIFIED);
    }

    private static com.fasterxml.jackson.databind.JsonNode parse(StoredEntry e) {
        try {
            return CanonicalJson.parse(e.json());
        } catch (java.io.IOException ex) {
            throw new IllegalStateException(ex);
        }
    }
}

package io.inferencepam.pam.auth;

import com.nimbusds.jose.JWSAlgorithm;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/** An issuer's signature keys as last loaded successfully. Immutable. */
record KeySnapshot(Map<String, VerifyKey> byKid, Instant loadedAt) {

    KeySnapshot {
        byKid = Map.copyOf(byKid);
    }

    /** The key for {@code kid}; without a kid, the only key that can verify {@code alg}, if exactly one. */
    Optional<VerifyKey> find(String kid, JWSAlgorithm alg) {
        if (kid != null) {
            return Optional.ofNullable(byKid.get(kid));
        }
        VerifyKey only = null;
        for (VerifyKey k : byKid.values()) {
            if (k.algorithms().contains(alg)) {
                if (only != null) {
                    return Optional.empty();
                }
                only = k;
            }
        }
        return Optional.ofNullable(only);
    }
}

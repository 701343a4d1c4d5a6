package io.inferencepam.pam.quota;

import io.inferencepam.pam.core.Principal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Redis key names of the quota counters (documented in {@code redis-schema/README.md}):
 * {@code pam:quota:{<principal digest>}:<limit id>:<window seconds>s} and, for a per-model limit,
 * {@code …:m:<model digest>}.
 *
 * <p>The hash tag is a digest of the principal's issuer and subject, so (1) every counter of one
 * call lives in one Cluster slot and one script can update them atomically, (2) nothing a token
 * says (a subject with {@code {}} in it, an e-mail address) shapes the key or lands in Redis in
 * clear, and (3) the same person under two issuers has two budgets, as pam-auth sees two principals.
 * Limits with the same id and window share counters across routes: that is how one budget spans
 * several routes.
 */
public final class QuotaKeys {
    static final String PREFIX = "pam:quota:";

    private QuotaKeys() {
    }

    /** The counters of the limits that apply to a call by {@code principal} for {@code model}, in conf order. */
    public static List<QuotaCounter> counters(List<QuotaLimit> limits, Principal principal, Optional<String> model) {
        String tag = null;
        List<QuotaCounter> out = new ArrayList<>();
        for (QuotaLimit l : limits) {
            if (!l.appliesTo(model)) {
                continue;
            }
            if (tag == null) {
                tag = principalTag(principal);
            }
            String key = PREFIX + "{" + tag + "}:" + l.id() + ":" + l.window().toSeconds() + "s";
            if (l.perModel()) {
                key += ":m:" + digest(model.orElse(""), 16);
            }
            out.add(new QuotaCounter(l.id(), key, l.window().toMillis(), l.requests(), l.tokens()));
        }
        return out;
    }

    /** 128 bits of SHA-256 over issuer and subject; the issuer is length-prefixed, so no two pairs share a spelling. */
    static String principalTag(Principal p) {
        return digest(p.issuer().length() + ":" + p.issuer() + "\n" + p.subject(), 32);
    }

    private static String digest(String s, int hexChars) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h).substring(0, hexChars);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e); // every JRE has SHA-256
        }
    }
}

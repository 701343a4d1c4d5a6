package io.inferencepam.pam.mask;

import io.inferencepam.pam.mask.detect.DetectorSet;
import io.inferencepam.pam.mask.detect.KeyContext;
import io.inferencepam.pam.mask.detect.Match;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Finds sensitive values in a text and decides their replacement tokens. Immutable and shared by
 * all calls of one conf.
 */
public final class Redactor {
    /** One value to replace: {@code [start, end)} of the scanned text becomes {@code token}. */
    public record Replacement(int start, int end, String detector, String token) {
    }

    private final DetectorSet detectors;
    private final Map<String, Action> actions;
    private final Optional<SecretKeySpec> hmacKey;
    private final Map<String, String> labels = new java.util.HashMap<>();
    /** "[LABEL]" per detector: the redact/block token, built once instead of per value. */
    private final Map<String, String> plainTokens = new java.util.HashMap<>();

    public Redactor(DetectorSet detectors, Map<String, Action> actions, Optional<byte[]> hmacKey) {
        this.detectors = detectors;
        this.actions = Map.copyOf(actions);
        this.hmacKey = hmacKey.map(k -> new SecretKeySpec(k, "HmacSHA256"));
        for (var d : detectors.detectors()) {
            labels.put(d.name(), label(d.name()));
            plainTokens.put(d.name(), "[" + label(d.name()) + "]");
        }
    }

    /** Replacements in text order; counts (and block requests) go to {@code tally}. */
    public List<Replacement> plan(String text, MaskTally tally) {
        return plan(text, 0, tally);
    }

    /** Replacements of the values that start at or after {@code from} (text before it is context). */
    private List<Replacement> plan(String text, int from, MaskTally tally) {
        List<Match> matches = detectors.find(text);
        if (matches.isEmpty()) {
            return List.of();
        }
        List<Replacement> out = new ArrayList<>(matches.size());
        for (Match m : matches) {
            if (m.start() < from) {
                continue;
            }
            Action a = actions.getOrDefault(m.detector(), Action.REDACT);
            tally.add(m.detector());
            if (a.kind() == Action.Kind.BLOCK) {
                tally.block(m.detector());
            }
            String token = a.kind() == Action.Kind.REDACT || a.kind() == Action.Kind.BLOCK ? plainTokens.get(m.detector()) : null;
            if (token == null) {
                token = token(m.detector(), text.substring(m.start(), m.end()), a);
            }
            out.add(new Replacement(m.start(), m.end(), m.detector(), token));
        }
        return out;
    }

    /**
     * A value under a key (a JSON member, a tool-call argument): what the text detectors find, and
     * besides, what the key names — nine digits under "ssn", any real value under "password", a
     * digit string under "phone" — is replaced whole.
     */
    public String maskKeyed(String key, String value, MaskTally tally) {
        return maskKeyed(key, KeyContext.of(key), value, tally);
    }

    /** {@link #maskKeyed(String, String, MaskTally)} with the key's context already known ({@code KeyContext.of(key)}). */
    public String maskKeyed(String key, KeyContext ctx, String value, MaskTally tally) {
        if (ctx == KeyContext.NONE) {
            return mask(value, tally);
        }
        if (ctx == KeyContext.SSN && detectors.has("ssn") && KeyContext.ssnValue(value) && !detectors.allowed(value.strip())) {
            return whole("ssn", value, tally);
        }
        // the key is context for the text detectors too: "aws_secret_access_key: …", "ssn: …", "version: …"
        String prefix = (ctx == KeyContext.VERSION ? "version" : key) + ": ";
        MaskTally found = new MaskTally();
        List<Replacement> plan = plan(prefix + value, prefix.length(), found);
        if (!plan.isEmpty() && ctx == KeyContext.SECRET && !coversAllButBlanks(plan, prefix.length(), value)
                && detectors.has("secret") && !detectors.allowed(value.strip())) {
            // a detector that stops at '&' or ';' ("Tr0ub4dor&3xyzzy") would leave the rest of the
            // password readable: under a secret's key the value goes whole
            if (found.blockedBy() != null) {
                tally.addAll(found); // a detector whose action blocks still blocks the response
            }
            return whole("secret", value, tally);
        }
        tally.addAll(found);
        if (!plan.isEmpty()) {
            StringBuilder sb = new StringBuilder(value.length() + 16);
            int p = 0;
            for (Replacement r : plan) {
                sb.append(value, p, r.start() - prefix.length()).append(r.token());
                p = r.end() - prefix.length();
            }
            return sb.append(value, p, value.length()).toString();
        }
        String d = switch (ctx) {
            case SECRET -> KeyContext.secretValue(value, false) ? "secret" : null;
            case PHONE -> phoneLike(value) ? "phone" : null;
            default -> null;
        };
        if (d == null || !detectors.has(d) || detectors.allowed(value.strip())) {
            return value;
        }
        return whole(d, value, tally);
    }

    /** Whether the replacements leave nothing of {@code value} but blanks. */
    private static boolean coversAllButBlanks(List<Replacement> plan, int offset, String value) {
        int p = 0;
        for (Replacement r : plan) {
            if (!value.substring(p, r.start() - offset).isBlank()) {
                return false;
            }
            p = r.end() - offset;
        }
        return value.substring(p).isBlank();
    }

    private String whole(String detector, String value, MaskTally tally) {
        Action a = actions.getOrDefault(detector, Action.REDACT);
        tally.add(detector);
        if (a.kind() == Action.Kind.BLOCK) {
            tally.block(detector);
        }
        return a.kind() == Action.Kind.REDACT || a.kind() == Action.Kind.BLOCK ? plainTokens.get(detector) : token(detector, value, a);
    }

    /** 7–15 digits with the separators phones are written with: under a "phone" key that is a number. */
    private static boolean phoneLike(String v) {
        int digits = 0;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c >= '0' && c <= '9') {
                digits++;
            } else if (!(c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' || c == '\u00a0' || (c == '+' && i == 0))) {
                return false;
            }
        }
        return digits >= 7 && digits <= 15;
    }

    /** {@code text} with every sensitive value replaced. */
    public String mask(String text, MaskTally tally) {
        List<Replacement> plan = plan(text, tally);
        if (plan.isEmpty()) {
            return text;
        }
        StringBuilder sb = new StringBuilder(text.length() + 16 * plan.size());
        int p = 0;
        for (Replacement r : plan) {
            sb.append(text, p, r.start()).append(r.token());
            p = r.end();
        }
        return sb.append(text, p, text.length()).toString();
    }

    static String label(String detector) {
        StringBuilder sb = new StringBuilder(detector.length());
        for (int i = 0; i < detector.length(); i++) {
            char c = detector.charAt(i);
            sb.append(Character.isLetterOrDigit(c) ? Character.toUpperCase(c) : '_');
        }
        return sb.toString().toUpperCase(Locale.ROOT);
    }

    private String token(String detector, String value, Action a) {
        String label = labels.getOrDefault(detector, detector);
        return switch (a.kind()) {
            case REDACT, BLOCK -> "[" + label + "]";
            case PARTIAL -> {
                int keep = Math.min(a.keep(), value.length() / 4);
                yield "[" + label + ":****" + value.substring(value.length() - keep) + "]";
            }
            case HASH -> "[" + label + ":" + hmac(detector, value) + "]";
        };
    }

    private String hmac(String detector, String value) {
        SecretKeySpec key = hmacKey.orElseThrow(() -> new IllegalStateException("hash action without a key"));
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            mac.update(detector.getBytes(StandardCharsets.UTF_8));
            mac.update((byte) 0);
            byte[] d = mac.doFinal(value.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 4);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}

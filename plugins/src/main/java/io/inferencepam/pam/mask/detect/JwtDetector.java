package io.inferencepam.pam.mask.detect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Base64;

/**
 * JSON Web Tokens: three base64url segments joined by dots, the first starting "eyJ" (a base64
 * JSON object) and decoding to a JSON object with an "alg" member. The signature may be empty
 * (alg "none"); the five-segment JWE form is covered too. Segments are read once each, so the
 * scan is linear.
 */
public final class JwtDetector implements Detector {
    private static final int MAX_HEADER = 2048;
    private final ObjectMapper json = new ObjectMapper();

    @Override
    public String name() {
        return "jwt";
    }

    @Override
    public void scan(String s, Sink sink) {
        int from = 0;
        int at;
        while ((at = Chars.find(s, "eyJ", 2, from, false)) >= 0) {
            from = at + 1;
            if (at > 0 && b64(s.charAt(at - 1))) {
                continue;
            }
            int h = run(s, at);
            if (h - at < 10 || h >= s.length() || s.charAt(h) != '.') {
                from = Math.max(from, h);
                continue;
            }
            int p = run(s, h + 1);
            if (p - h - 1 < 2 || p >= s.length() || s.charAt(p) != '.') {
                from = Math.max(from, p);
                continue;
            }
            int sig = run(s, p + 1);
            // JWE compact form has five segments; a plain '.' after the token ends a sentence
            for (int parts = 3; parts < 5 && sig + 1 < s.length() && s.charAt(sig) == '.' && b64(s.charAt(sig + 1)); parts++) {
                sig = run(s, sig + 1);
            }
            if (sig + 1 < s.length() && s.charAt(sig) == '.' && b64(s.charAt(sig + 1))) {
                from = Math.max(from, sig);
                continue;
            }
            if (h - at <= MAX_HEADER && headerHasAlg(s.substring(at, h))) {
                sink.found(at, sig);
            }
            from = Math.max(from, sig);
        }
    }

    private boolean headerHasAlg(String segment) {
        try {
            JsonNode node = json.readTree(Base64.getUrlDecoder().decode(segment));
            return node != null && node.isObject() && node.path("alg").isTextual();
        } catch (Exception e) {
            return false;
        }
    }

    private static int run(String s, int i) {
        while (i < s.length() && b64(s.charAt(i))) {
            i++;
        }
        return i;
    }

    private static boolean b64(char c) {
        return Chars.alnum(c) || c == '-' || c == '_';
    }
}

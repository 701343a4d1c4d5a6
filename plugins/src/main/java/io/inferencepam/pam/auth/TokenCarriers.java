package io.inferencepam.pam.auth;

import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import java.util.Optional;

/**
 * Finds bearer tokens a request carries somewhere else than the {@code Authorization} header: in the
 * query (RFC 6750 §2.3, which we do not accept: URLs end up in access logs, proxies and browser
 * history) or in a cookie. RFC 6750 §3.1 makes a request that uses more than one method an
 * {@code invalid_request}; a token in the query is refused even alone, so it never reaches the model
 * server under a name that server might read.
 *
 * <p>What counts, deliberately broader than the RFC's exact {@code access_token}, because the model
 * server behind the gateway decides what it reads, not the RFC:
 * <ul>
 * <li>a query arg or cookie whose name, folded, is {@code access_token}: case-insensitive (with
 *     Unicode simple case folding, so {@code ACCESS_TOKEN}, {@code acceſſ_to&#x212A;en}), surrounding
 *     whitespace ignored, {@code .}, {@code [} and spaces read as {@code _} and an array suffix
 *     ({@code access_token[]}) dropped, as PHP does; with or without a value;</li>
 * <li>a query arg of any name whose value is a compact JWS/JWE (three or five base64url parts, the
 *     first starting {@code eyJ}, i.e. a JSON header), optionally quoted or after {@code Bearer }
 *     ({@code Bearer%20});</li>
 * <li>the same inside an arg split at {@code ;}, and names read leniently (cut at a NUL, controls
 *     and blanks around them dropped).</li>
 * </ul>
 * Cookies count only by name; pam-auth strips the Cookie header from what it forwards.
 * Names arrive percent-decoded from APISIX ({@code access%5Ftoken} is {@code access_token} here).
 */
final class TokenCarriers {
    /** The nginx var with every Cookie header of the request, joined by {@code "; "}. */
    static final String COOKIE_VAR = "http_cookie";
    private static final String NAME = "access_token";

    enum Place { QUERY, COOKIE }

    private TokenCarriers() {
    }

    /** Where a token other than the Authorization header's was found, query first. */
    static Optional<Place> find(Headers args, Optional<String> cookies) {
        for (Header a : args.entries()) {
            if (isTokenName(a.name()) || (a.value() != null && looksLikeJwt(a.value()))
                    || argCarriesToken(a.name() + (a.value() == null ? "" : "=" + a.value()))) {
                return Optional.of(Place.QUERY);
            }
        }
        if (cookies.isPresent() && cookieCarriesToken(cookies.get())) {
            return Optional.of(Place.COOKIE);
        }
        return Optional.empty();
    }

    /**
     * nginx reads {@code a=1;access_token=x} as one arg {@code a}; older Rack, Perl CGI and Python
     * before 3.9.2 split query pairs at {@code ;} too and would see the token: read it both ways.
     */
    private static boolean argCarriesToken(String arg) {
        return arg.indexOf(';') >= 0 && anyPair(arg, ";", true);
    }

    /**
     * A cookie named for a token ({@code access_token} in any spelling). Other cookies, even ones
     * holding a JWT (a same-origin web app's session), are no reason to refuse: pam-auth removes the
     * Cookie header from every request it lets through, so none reaches the model server. Pairs are
     * split at {@code ;} and also at {@code ,} (RFC 2965 servers accept both).
     */
    static boolean cookieCarriesToken(String cookieHeader) {
        return anyPair(cookieHeader, ";,", false);
    }

    /** Whether a {@code name[=value]} pair of {@code text}, split at any of {@code delimiters}, names a token (or holds a JWT). */
    private static boolean anyPair(String text, String delimiters, boolean jwtValues) {
        int start = 0;
        int n = text.length();
        for (int i = 0; i <= n; i++) {
            if (i == n || delimiters.indexOf(text.charAt(i)) >= 0) {
                String pair = text.substring(start, i);
                int eq = pair.indexOf('=');
                String name = eq < 0 ? pair : pair.substring(0, eq);
                if (isTokenName(name) || (jwtValues && eq >= 0 && looksLikeJwt(pair.substring(eq + 1)))) {
                    return true;
                }
                start = i + 1;
            }
        }
        return false;
    }

    /**
     * The name as a lenient reader would take it: cut at a NUL (a C string ends there), then without
     * the controls and blanks around it (APISIX decodes {@code %00}, {@code %01}, {@code %C2%A0};
     * Python's {@code strip()} drops a no-break space, {@code String.strip()} does not).
     */
    private static String lenientName(String name) {
        int nul = name.indexOf(0);
        String n = nul >= 0 ? name.substring(0, nul) : name;
        int from = 0;
        int to = n.length();
        while (from < to && ignorable(n.charAt(from))) {
            from++;
        }
        while (to > from && ignorable(n.charAt(to - 1))) {
            to--;
        }
        return n.substring(from, to);
    }

    private static boolean ignorable(char c) {
        return Character.isISOControl(c) || Character.isWhitespace(c) || Character.isSpaceChar(c);
    }

    static boolean isTokenName(String name) {
        String n = lenientName(name);
        int bracket = n.indexOf('[');
        if (bracket > 0 && n.indexOf(']', bracket) > 0) {
            n = n.substring(0, bracket); // PHP: access_token[] / access_token[x] fill $_GET['access_token']
        }
        if (n.length() != NAME.length()) {
            return false; // folding never changes the length of these characters (all BMP, one char each)
        }
        for (int i = 0; i < n.length(); i++) {
            char c = n.charAt(i);
            char folded = (c == '.' || c == ' ' || c == '[') ? '_' : Character.toLowerCase(Character.toUpperCase(c));
            if (folded != NAME.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    static boolean looksLikeJwt(String value) {
        String v = value.strip();
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
            v = v.substring(1, v.length() - 1).strip();
        }
        if (v.regionMatches(true, 0, "Bearer ", 0, 7)) {
            v = v.substring(7).strip();
        } else if (v.regionMatches(true, 0, "Bearer%20", 0, 9)) {
            v = v.substring(9);
        }
        if (!v.startsWith("eyJ")) {
            return false;
        }
        int dots = 0;
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            if (c == '.') {
                dots++;
            } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
                return false;
            }
        }
        return dots == 2 || dots == 4;
    }
}

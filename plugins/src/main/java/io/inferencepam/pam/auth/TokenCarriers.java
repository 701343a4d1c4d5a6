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
 * <li>a query arg or cookie of any name whose value is a compact JWS/JWE (three or five base64url
 *     parts, the first starting {@code eyJ}, i.e. a JSON header), optionally quoted or after
 *     {@code Bearer } ({@code Bearer%20}).</li>
 * </ul>
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
            if (isTokenName(a.name()) || (a.value() != null && looksLikeJwt(a.value()))) {
                return Optional.of(Place.QUERY);
            }
        }
        if (cookies.isPresent() && cookieCarriesToken(cookies.get())) {
            return Optional.of(Place.COOKIE);
        }
        return Optional.empty();
    }

    /** Cookie pairs are split at {@code ;} and also at {@code ,} (RFC 2965 servers accept both). */
    static boolean cookieCarriesToken(String cookieHeader) {
        int start = 0;
        int n = cookieHeader.length();
        for (int i = 0; i <= n; i++) {
            if (i == n || cookieHeader.charAt(i) == ';' || cookieHeader.charAt(i) == ',') {
                String pair = cookieHeader.substring(start, i);
                int eq = pair.indexOf('=');
                String name = eq < 0 ? pair : pair.substring(0, eq);
                if (isTokenName(name) || (eq >= 0 && looksLikeJwt(pair.substring(eq + 1)))) {
                    return true;
                }
                start = i + 1;
            }
        }
        return false;
    }

    static boolean isTokenName(String name) {
        String n = name.strip();
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

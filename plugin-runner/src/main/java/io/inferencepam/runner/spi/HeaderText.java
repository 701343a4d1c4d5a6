package io.inferencepam.runner.spi;

/**
 * Header names and values that plugins send to APISIX must not smuggle line breaks or NULs: a
 * value built from attacker-influenced text (a claim, a model name) would otherwise split headers
 * on the way to the upstream or the client.
 */
final class HeaderText {
    private HeaderText() {
    }

    static void check(String name, String value) {
        if (name.isEmpty() || !clean(name) || (value != null && !clean(value))) {
            throw new IllegalArgumentException("header " + (clean(name) ? name : "<invalid name>")
                    + " contains CR, LF or NUL");
        }
    }

    private static boolean clean(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\r' || c == '\n' || c == 0) {
                return false;
            }
        }
        return true;
    }
}

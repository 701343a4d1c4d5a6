package io.inferencepam.pam.record.chain;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The canonical form entries were written in before it became RFC 8785 (JCS), kept so that
 * chains written then still verify. The two differ in one thing only: the old form wrote the
 * {@code \}{@code u00XX} escape of a control character with uppercase hex digits, JCS with
 * lowercase. So the only entries that differ are those holding U+000B, U+000E, U+000F or
 * U+001A–U+001F (the controls without a short escape whose code has a letter in hex) in a string.
 * (Lone surrogates were written as {@code ?}: the stored text holds {@code ?}, which re-encodes
 * the same in both forms.)
 */
final class PreJcsForm {
    private PreJcsForm() {
    }

    /** The old form of an entry, from its JCS text: the hex of every {@code \}{@code u} escape in uppercase. */
    static String of(String jcs) {
        int i = jcs.indexOf('\\');
        if (i < 0) {
            return jcs;
        }
        StringBuilder sb = new StringBuilder(jcs);
        for (; i < sb.length(); i++) {
            if (sb.charAt(i) == '\\') {
                if (sb.charAt(i + 1) == 'u') {
                    for (int k = i + 2; k < i + 6; k++) {
                        sb.setCharAt(k, Character.toUpperCase(sb.charAt(k)));
                    }
                    i += 5;
                } else {
                    i++; // the escaped character
                }
            }
        }
        return sb.toString();
    }

    /** Whether {@code stored} is the old form of an entry whose JCS form is {@code jcs}, with the old form's hash {@code hash}. */
    static boolean verifies(ObjectNode entry, String jcs, String stored, String hash) {
        if (jcs.indexOf("\\u") < 0 || !of(jcs).equals(stored)) {
            return false;
        }
        ObjectNode copy = entry.deepCopy();
        copy.remove(HashChain.HASH);
        copy.remove(HashChain.SIG);
        return HashChain.sha256Hex(of(CanonicalJson.write(copy))).equals(hash);
    }
}

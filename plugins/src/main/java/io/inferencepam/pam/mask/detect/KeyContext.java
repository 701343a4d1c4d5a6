package io.inferencepam.pam.mask.detect;

import java.util.List;

/**
 * What a key (a JSON member name, a config or log key) says about its value: the context that
 * lets lower-confidence detectors decide — nine bare digits under "ssn" are an SSN, anything under
 * "password" is a secret, digits under "phone" are a phone number.
 */
public enum KeyContext {
    NONE, SSN, SECRET, PHONE,
    /** "version", "db_version"…: a dotted quad under it is a version, not an address. */
    VERSION;

    /** Compared on the key lower-cased with everything but letters and digits removed. */
    private static final List<String> SECRET_SUFFIXES = List.of("password", "passwd", "passphrase", "secret", "secretkey", "secretaccesskey",
            "apikey", "accesstoken", "refreshtoken", "authtoken", "bearertoken", "privatekey", "passwort", "kennwort",
            "motdepasse", "パスワード", "暗証番号");
    /** Not "token": logprobs entries are {"token": "hello", …}. */
    private static final List<String> SECRET_EXACT = List.of("pwd", "pass", "secret", "credentials");
    private static final List<String> PHONE_SUFFIXES = List.of("phone", "phonenumber", "telephone", "tel", "mobile", "cell",
            "telefon", "telefonnummer", "handy", "portable", "téléphone", "電話", "電話番号", "携帯");

    public static KeyContext of(String key) {
        if (key == null || key.isEmpty() || key.length() > 64) {
            return NONE;
        }
        String k = normalise(key);
        if (k.isEmpty()) {
            return NONE;
        }
        if (k.endsWith("ssn") || k.contains("socialsecurity")) {
            return SSN;
        }
        if (SECRET_EXACT.contains(k)) {
            return SECRET;
        }
        for (String s : SECRET_SUFFIXES) {
            if (k.endsWith(s)) {
                return SECRET;
            }
        }
        for (String s : PHONE_SUFFIXES) {
            if (k.endsWith(s)) {
                return PHONE;
            }
        }
        if (k.endsWith("version") || k.equals("ver") || k.endsWith("release")) {
            return VERSION;
        }
        return NONE;
    }

    static String normalise(String key) {
        StringBuilder sb = new StringBuilder(key.length());
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (c < 128) {
                // ASCII without the Unicode tables: keys are mostly ASCII and read once per ':' / '='
                if (Chars.alnum(c)) {
                    sb.append(Chars.upper(c) ? (char) (c + 32) : c);
                }
            } else if (Character.isLetterOrDigit(c)) {
                sb.append(Character.toLowerCase(c));
            }
        }
        return sb.toString();
    }

    /**
     * A value under a secret key that is a real value and not a placeholder ("", "${DB_PASSWORD}",
     * "&lt;your-secret&gt;", "****", "null").
     */
    public static boolean secretValue(String v, boolean strict) {
        String t = v.strip();
        if (t.length() < (strict ? 6 : 4) || t.length() > 512) {
            return false;
        }
        char c = t.charAt(0);
        if (c == '$' || c == '<' || c == '{' || c == '%' || c == '*' || c == '[' || c == '(') {
            return false;
        }
        if (t.equalsIgnoreCase("null") || t.equalsIgnoreCase("none") || t.equalsIgnoreCase("redacted") || oneChar(t)) {
            return false;
        }
        if (!strict) {
            return true;
        }
        boolean digit = false;
        boolean symbol = false;
        boolean up = false;
        boolean low = false;
        for (int i = 0; i < t.length(); i++) {
            char x = t.charAt(i);
            if (Character.isWhitespace(x)) {
                return false;
            }
            digit |= Chars.digit(x);
            up |= Chars.upper(x);
            low |= Chars.lower(x);
            symbol |= !Chars.alnum(x) && x < 128;
        }
        return digit || symbol || (up && low);
    }

    /** "xxxxxx", "000000": one character repeated is a placeholder. */
    private static boolean oneChar(String t) {
        for (int i = 1; i < t.length(); i++) {
            if (t.charAt(i) != t.charAt(0)) {
                return false;
            }
        }
        return true;
    }

    /** Nine digits, bare or grouped 3-2-4 by '-' or ' ', that pass the SSN issuance rules. */
    public static boolean ssnValue(String v) {
        String t = v.strip();
        StringBuilder d = new StringBuilder(9);
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (Chars.digit(c)) {
                d.append(c);
            } else if (!((c == '-' || c == ' ') && (i == 3 || i == 6))) {
                return false;
            }
        }
        if (d.length() != 9) {
            return false;
        }
        int area = Integer.parseInt(d.substring(0, 3));
        return area != 0 && area != 666 && area < 900 && !d.substring(3, 5).equals("00") && !d.substring(5).equals("0000");
    }
}

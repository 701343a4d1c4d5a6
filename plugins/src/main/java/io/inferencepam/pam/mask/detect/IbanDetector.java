package io.inferencepam.pam.mask.detect;

import java.util.HashMap;
import java.util.Map;

/**
 * IBANs: a country code with its registered length, two check digits, then the BBAN, optionally
 * in groups of four separated by single spaces; validated with ISO 7064 mod-97.
 */
public final class IbanDetector implements Detector {
    private static final String LENGTHS = "AD24 AE23 AL28 AT20 AZ28 BA20 BE16 BG22 BH22 BR29 BY28 CH21 CR22 CY28 CZ24 "
            + "DE22 DK18 DO28 EE20 EG29 ES24 FI18 FO18 FR27 GB22 GE22 GI23 GL18 GR27 GT28 HR21 HU28 IE22 IL23 IQ23 "
            + "IS26 IT27 JO30 KW30 KZ20 LB28 LC32 LI21 LT20 LU20 LV21 MC27 MD24 ME22 MK19 MR27 MT31 MU30 NL18 NO15 "
            + "PK24 PL28 PS29 PT25 QA29 RO24 RS22 SA24 SC31 SE24 SI19 SK24 SM27 ST25 SV28 TL23 TN24 TR26 UA29 VA22 "
            + "VG24 XK20";
    private final Map<String, Integer> lengths = new HashMap<>();

    public IbanDetector() {
        for (String e : LENGTHS.split(" ")) {
            lengths.put(e.substring(0, 2), Integer.parseInt(e.substring(2)));
        }
    }

    @Override
    public String name() {
        return "iban";
    }

    @Override
    public void scan(String s, Sink sink) {
        int n = s.length();
        char[] buf = new char[34];
        for (int i = 0; i + 15 <= n; i++) {
            if (!Chars.upper(s.charAt(i)) || !Chars.upper(s.charAt(i + 1)) || !Chars.digit(s.charAt(i + 2))
                    || !Chars.digit(s.charAt(i + 3)) || !Chars.startBoundary(s, i)) {
                continue;
            }
            Integer expected = lengths.get(s.substring(i, i + 2));
            if (expected == null) {
                continue;
            }
            int count = 0;
            int j = i;
            while (j < n && count < expected) {
                char c = s.charAt(j);
                if (Chars.upper(c) || Chars.digit(c)) {
                    buf[count++] = c;
                    j++;
                } else if (c == ' ' && count % 4 == 0 && count > 0 && j + 1 < n && Chars.alnum(s.charAt(j + 1))) {
                    j++;
                } else {
                    break;
                }
            }
            if (count == expected && Chars.endBoundary(s, j) && mod97(buf, count)) {
                sink.found(i, j);
                i = j - 1;
            }
        }
    }

    static boolean mod97(char[] iban, int len) {
        int rem = 0;
        for (int k = 0; k < len; k++) {
            char c = iban[(k + 4) % len];
            if (Chars.digit(c)) {
                rem = (rem * 10 + (c - '0')) % 97;
            } else {
                int v = c - 'A' + 10;
                rem = (rem * 100 + v) % 97;
            }
        }
        return rem == 1;
    }
}

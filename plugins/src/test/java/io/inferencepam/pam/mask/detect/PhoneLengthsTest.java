package io.inferencepam.pam.mask.detect;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.i18n.phonenumbers.PhoneNumberUtil;
import com.google.i18n.phonenumbers.Phonenumber.PhoneNumber;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * The possible-length tables taken from libphonenumber once per calling code (issue 13,
 * performance) answer what the library answers per number, for every national number the
 * detector builds (leading zeros included) and for codes outside the tables.
 */
class PhoneLengthsTest {
    private static final PhoneNumberUtil UTIL = PhoneNumberUtil.getInstance();
    private static final PhoneDetector DETECTOR = new PhoneDetector(List.of("US", "GB", "DE", "FR", "JP", "IT", "CH"));
    private static final int[] CODES = {1, 44, 49, 33, 81, 39, 41, 7, 86, 800, 882, 34, 351};

    @Property(tries = 3000)
    void tablesAnswerLikeTheLibrary(@ForAll long seed) {
        Random r = new Random(seed);
        int cc = CODES[r.nextInt(CODES.length)];
        StringBuilder nsn = new StringBuilder();
        int zeros = r.nextInt(4) == 0 ? 1 + r.nextInt(3) : 0;
        nsn.append("0".repeat(zeros));
        int len = 1 + r.nextInt(17 - zeros);
        for (int k = 0; k < len; k++) {
            nsn.append((char) ('0' + r.nextInt(10)));
        }
        PhoneNumber n = PhoneDetector.number(cc, nsn.toString());
        assertThat(DETECTOR.possible(n)).as("+%d %s", cc, nsn).isEqualTo(UTIL.isPossibleNumber(n));
        assertThat(DETECTOR.possibleFixedLineOrMobile(n)).as("+%d %s", cc, nsn)
                .isEqualTo(UTIL.isPossibleNumberForType(n, PhoneNumberUtil.PhoneNumberType.FIXED_LINE_OR_MOBILE));
    }

    @net.jqwik.api.Example
    void callingCodesAreTheOnesWithARegion() {
        for (int cc = 0; cc < 1000; cc++) {
            assertThat(PhoneDetector.CALLING_CODES.contains(cc)).as("+%d", cc).isEqualTo(!"ZZ".equals(UTIL.getRegionCodeForCountryCode(cc)));
        }
    }
}

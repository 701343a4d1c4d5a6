package io.inferencepam.pam.mask;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.mask.detect.BuiltinDetectors;
import io.inferencepam.pam.mask.detect.Detector;
import io.inferencepam.pam.mask.detect.DetectorSet;
import io.inferencepam.pam.mask.detect.DictionaryDetector;
import io.inferencepam.pam.mask.detect.Match;
import io.inferencepam.pam.mask.detect.RegexDetector;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class MaskDetectorsTest {
    static final String JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    static final String PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aozN3tihPmljnnudb9G3HecDdd\nyKc9Vm3Qgn8QkZ1mZT0GJQMiBxkh6PkQSdAMd9kV7Ar5MKP4y0YtpJjC\n-----END RSA PRIVATE KEY-----";

    static DetectorSet all() {
        List<Detector> ds = new ArrayList<>();
        for (String n : BuiltinDetectors.names()) {
            ds.add(BuiltinDetectors.create(n));
        }
        return new DetectorSet(ds, Set.of());
    }

    static List<String> found(String text) {
        List<String> out = new ArrayList<>();
        for (Match m : all().find(text)) {
            out.add(m.detector() + "=" + text.substring(m.start(), m.end()));
        }
        return out;
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "Write to john.doe+billing@mail.example.co.uk today|email|john.doe+billing@mail.example.co.uk",
        "card 4111 1111 1111 1111 exp 12/27|card|4111 1111 1111 1111",
        "card 5500-0000-0000-0004.|card|5500-0000-0000-0004",
        "amex:378282246310005|card|378282246310005",
        "amex 3782 822463 10005.|card|3782 822463 10005",
        "visa 4111-1111-1111-1111-x|card|4111-1111-1111-1111",
        "a 4111 1111 1111 1111-es kártyával|card|4111 1111 1111 1111",
        "IBAN DE89 3704 0044 0532 0130 00 please|iban|DE89 3704 0044 0532 0130 00",
        "(GB82WEST12345698765432)|iban|GB82WEST12345698765432",
        "SSN: 123-45-6789|ssn|123-45-6789",
        "SSN 123-45-6789-A|ssn|123-45-6789",
        "call 415-555-0132-ext now|phone|415-555-0132",
        "ssn 123456789.|ssn|123456789",
        "call +1 415 555 0132 now|phone|+1 415 555 0132",
        "call +44 (0)20 7946 0958|phone|+44 (0)20 7946 0958",
        "office (415) 555-0132|phone|(415) 555-0132",
        "desk 415.555.0132|phone|415.555.0132",
        "London 020 7946 0958.|phone|020 7946 0958",
        "host 192.168.10.25:8080|ipv4|192.168.10.25",
        "v6 2a01:4f8:85a3::8a2e:370:7334 ok|ipv6|2a01:4f8:85a3::8a2e:370:7334",
        "link-local fe80::1|ipv6|fe80::1",
        "full 2a01:04f8:0000:0000:0000:ff00:0042:8329|ipv6|2a01:04f8:0000:0000:0000:ff00:0042:8329",
        "key AKIAIOSFODNN7EXAMPLE used|aws_access_key|AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY|aws_secret_key|wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 here|github_token|ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz|github_token|github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx|slack_token|xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "OPENAI_API_KEY=sk-proj-Ab3dEf5hIj7lMn9pQr1tUv3xYz5|openai_key|sk-proj-Ab3dEf5hIj7lMn9pQr1tUv3xYz5",
        "Authorization: Bearer abcDEF123456ghiJKL789mno|bearer_token|abcDEF123456ghiJKL789mno",
        "AUTHORIZATION: BEARER abcDEF123456ghiJKL789mno|bearer_token|abcDEF123456ghiJKL789mno",
        "{\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}|aws_secret_key|wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    })
    void findsBuiltins(String text, String detector, String value) {
        assertThat(found(text)).containsExactly(detector + "=" + value);
    }

    @Test
    void jwtWinsOverBearerAndPemSpansLines() {
        assertThat(found("Authorization: Bearer " + JWT)).containsExactly("jwt=" + JWT);
        assertThat(found("key:\n" + PEM + "\nend")).containsExactly("private_key=" + PEM);
        String truncated = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";
        assertThat(found("x " + truncated)).containsExactly("private_key=" + truncated);
    }

    @Test
    void jwtNeedsAHeaderWithAlg() {
        String noAlg = "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc"; // {"typ":"JWT"}
        assertThat(found(noAlg)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "000-12-3456", "666-12-3456", "SSN 000123456", "id 123456789", "900-12-3456", "123-00-4567", "123-45-0000",
        "4111 1111 1111 1112", "1715524382123", "0000000000000000",
        "123e4567-e89b-12d3-a456-426614174000", "note 52762638-0766-4370-b486-e93af167ae6d wait",
        "52762638 0766 4370", "5276263-80766-4370", "Order #A-20240512-7781", "order 8812-4471-0093",
        "2024-05-12T14:33:02Z", "2024-05-12 14:33:02", "12:30:45", "at 1715524382", "v1.2.3", "version 2.14.1",
        "1.2.3.4.5", "release 10.4.12", "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "sha1 a94a8fe5ccb19ba61c4c0873d391e987982fbbd3", "commit a1b2c3d", "$1,234.56", "EUR 4 111,00",
        "pi 3.14159265358979323", "ISBN 978-3-16-148410-0", "sk-learn is a library", "Bearer authentication scheme",
        "std::vector<int>", "DE89 3704 0044 0532 0130 01", "user@localhost", "@@@@@@", "1234567890123456789012345",
        "256.1.1.1", "01.02.03.04", "port 8080:80", "SKU 4006381333931", "tel 555-0100", "ratio 16:9",
        "hash d41d8cd98f00b204e9800998ecf8427e", "AKIA in docs", "ghp_short", "xoxb-nodigits-here",
    })
    void ignoresBait(String text) {
        assertThat(found(text)).isEmpty();
    }

    @Test
    void allowListAndCustomDetectors() {
        DetectorSet set = new DetectorSet(List.of(BuiltinDetectors.create("email"),
                new RegexDetector("ticket", "TICKET-[0-9]{4,8}", false),
                new DictionaryDetector("codename", List.of("Project Falcon", "Nightjar"), true, true)),
                Set.of("support@example.com"));
        String text = "Mail support@example.com or ann@example.com about TICKET-123456 and project falcon; nightjars ok";
        List<String> got = new ArrayList<>();
        for (Match m : set.find(text)) {
            got.add(m.detector() + "=" + text.substring(m.start(), m.end()));
        }
        assertThat(got).containsExactly("email=ann@example.com", "ticket=TICKET-123456", "codename=project falcon");
    }

    @Test
    void ahoCorasickFindsOverlappingAndNonAsciiTerms() {
        DictionaryDetector d = new DictionaryDetector("d", List.of("he", "she", "hers", "Zürich", "東京"), true, false);
        List<String> got = new ArrayList<>();
        String text = "ushers in zürich and 東京";
        d.scan(text, (s, e) -> got.add(text.substring(s, e)));
        assertThat(got).containsExactlyInAnyOrder("she", "he", "hers", "zürich", "東京");
    }
}

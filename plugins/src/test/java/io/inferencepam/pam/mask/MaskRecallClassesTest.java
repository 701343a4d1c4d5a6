package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskDetectorsTest.found;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The miss classes of issue 13, each as a class of inputs (detector level; structure in their own tests). */
class MaskRecallClassesTest {

    /** Class 1: a value glued to CJK text (no spaces in Japanese or Chinese) is still a value. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "メールはyuki.sato@docomo.ne.jpです|email|yuki.sato@docomo.ne.jp",
        "連絡先：yuki@example.co.jpまで|email|yuki@example.co.jp",
        "カード番号4111111111111111で支払い|card|4111111111111111",
        "接続元は84.12.3.4です。|ipv4|84.12.3.4",
        "接続元は2a01:4f8:c17::1です。|ipv6|2a01:4f8:c17::1",
        "電話番号+81-3-1234-5678まで|phone|+81-3-1234-5678",
        "口座DE89370400440532013000へ|iban|DE89370400440532013000",
        "社会保障番号123-45-6789です|ssn|123-45-6789",
        "トークンghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789を使う|github_token|ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "邮箱是li.wei@example.cn。|email|li.wei@example.cn",
        "이메일은kim@example.kr입니다|email|kim@example.kr",
    })
    void valuesGluedToCjkText(String text, String detector, String value) {
        assertThat(found(text)).containsExactly(detector + "=" + value);
    }

    /** Letters of space-separated scripts still make a longer word. */
    @ParameterizedTest
    @ValueSource(strings = {"abc4111111111111111", "x84.12.3.4", "ä4111111111111111", "Ж84.12.3.4y"})
    void valuesGluedToLettersOfSpacedScriptsAreWords(String text) {
        assertThat(found(text)).isEmpty();
    }

    /** Class 2: in a table row a value followed (or preceded) by ',' and the next column's digits is still whole. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "1001,Anna,123-45-6789,42.50|ssn|123-45-6789",
        "1001,123-45-6789,7|ssn|123-45-6789",
        "12,123-45-6789,7|ssn|123-45-6789",
        "7,Anna,06 12 34 56 78,12|phone|06 12 34 56 78",
        "7,Anna,(415) 555-0132,12|phone|(415) 555-0132",
        "7,Anna,415-555-0132,2024|phone|415-555-0132",
        "id,4111111111111111,84|card|4111111111111111",
        "20240101,4111111111111111,x|card|4111111111111111",
        "x,4111111111111111,84.12.3.4,12.50|card|4111111111111111",
        "1001,DE89370400440532013000,5|iban|DE89370400440532013000",
    })
    void valuesInTableRows(String text, String detector, String value) {
        assertThat(found(text)).contains(detector + "=" + value);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "row 4111111111111111,84.12.3.4,12.50|ipv4|84.12.3.4",
        "id,4111111111111111,84.12.3.4|ipv4|84.12.3.4",
    })
    void ipsInTableRows(String text, String detector, String value) {
        assertThat(found(text)).contains(detector + "=" + value);
    }

    /** Thousands separators still join a number: no part of 1,234,567,890 is a value. */
    @ParameterizedTest
    @ValueSource(strings = {"total 415,555,013,299 units", "123-45-678,901", "1,234,567,890,123,456"})
    void thousandsGroupsStillJoin(String text) {
        assertThat(found(text)).isEmpty();
    }

    /** Class 4: sentence punctuation after an address ends it. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "Login from 2a01:4f8:c17::1.|ipv6|2a01:4f8:c17::1",
        "Login from 2001:4860:4860:0:0:0:0:8888. Next|ipv6|2001:4860:4860:0:0:0:0:8888",
        "Anmeldung von 2a02:810d:1e::7a. Danach|ipv6|2a02:810d:1e::7a",
        "mapped ::ffff:84.12.3.4.|ipv6|::ffff:84.12.3.4",
        "Connexion depuis 2a01:4f8:c17::1 ; puis|ipv6|2a01:4f8:c17::1",
        "from 2a01:4f8:c17::1, then|ipv6|2a01:4f8:c17::1",
        "(2a01:4f8:c17::1)|ipv6|2a01:4f8:c17::1",
        "from 84.12.3.4.|ipv4|84.12.3.4",
    })
    void addressesBeforeSentencePunctuation(String text, String detector, String value) {
        assertThat(found(text)).containsExactly(detector + "=" + value);
    }

    /** Class 3: phone numbers as written in each country, validated by libphonenumber. */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "appelez le 06.12.34.56.78 demain|06.12.34.56.78",
        "appelez le 0612345678 demain|0612345678",
        "appelez le 06\u00a012\u00a034\u00a056\u00a078 demain|06\u00a012\u00a034\u00a056\u00a078",
        "au 01 42 68 53 00.|01 42 68 53 00",
        "au +33 6 12 34 56 78.|+33 6 12 34 56 78",
        "au +33612345678.|+33612345678",
        "unter 030/12345678 an|030/12345678",
        "unter 0151/23456789 an|0151/23456789",
        "unter (030) 1234567 an|(030) 1234567",
        "unter 089 2345678 an|089 2345678",
        "unter +49 (0)30 1234567 an|+49 (0)30 1234567",
        "unter 0049 30 1234567 an|0049 30 1234567",
        "電話番号+81-3-1234-5678まで|+81-3-1234-5678",
        "携帯は090-1234-5678です|090-1234-5678",
        "代表03-1234-5678です|03-1234-5678",
        "電話0312345678です|0312345678",
        "call (415) 555-0132 now|(415) 555-0132",
        "call 415-555-0132 now|415-555-0132",
        "call +1 212 555 0143|+1 212 555 0143",
        "mobile 07400 123456.|07400 123456",
        "tel +44 20 7946 0958|+44 20 7946 0958",
    })
    void phonesAsWrittenPerCountry(String text, String value) {
        assertThat(found(unescape(text))).containsExactly("phone=" + unescape(value));
    }

    static String unescape(String s) {
        return s.replace("\\u00a0", "\u00a0");
    }

    /** Digits that libphonenumber does not validate, or that are no phone shape, stay. */
    @ParameterizedTest
    @ValueSource(strings = {"order 4155550132 shipped", "12.05.2024", "2024-05-12", "id 0000012345",
        "+1 000 000 0000", "ref 06 12 34", "0612345678901234", "epoch 1715524382", "isbn 978-3-16-148410-0",
        "call 1234", "06.12.34.56.78.90.12"})
    void notPhones(String text) {
        assertThat(found(text)).isEmpty();
    }

    /** Class 9: technical values that are not personal data stay by default. */
    @ParameterizedTest
    @ValueSource(strings = {"listen on 127.0.0.1:8080", "bind 0.0.0.0", "curl http://[::1]:8080/", "host ::1.",
        "example 192.0.2.10", "doc 198.51.100.7 and 203.0.113.200", "v6 doc 2001:db8::1.", "v6 doc 2001:DB8:85a3::8a2e:370:7334",
        "UA Mozilla/5.0 Chrome/125.0.0.0 Safari/537.36", "Oracle version 11.2.0.4 is old", "\"version\":\"19.3.0.5\"",
        "release v1.2.3.4", "git clone git@github.com:acme/api.git", "remote deploy@git.example.org:infra/tools.git",
        "loopback 127.12.0.1", "::"})
    void notPersonalByDefault(String text) {
        assertThat(found(text)).isEmpty();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "mail git@github.com: thanks|email|git@github.com",
        "from 84.12.3.4 (version 2)|ipv4|84.12.3.4",
        "from 128.0.0.1|ipv4|128.0.0.1",
        "user ana@firma.de:|email|ana@firma.de",
    })
    void realValuesNextToTheseShapesStillCount(String text, String detector, String value) {
        assertThat(found(text)).containsExactly(detector + "=" + value);
    }

    /** Class 5: values spelled URL-encoded, as HTML entities or as JSON \\u escapes inside text (a URL, a logged payload). */
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "GET /api/users?email=ana.weber%40firma.de&ref=1|email|ana.weber%40firma.de",
        "GET /api/users?email=ana.weber%2Bnews%40firma.de HTTP/1.1|email|ana.weber%2Bnews%40firma.de",
        "<a href=\"mailto:ana.weber&#64;firma.de\">|email|ana.weber&#64;firma.de",
        "mail ana.weber&commat;firma.de now|email|ana.weber&commat;firma.de",
        "mail ana.weber&#x40;firma.de now|email|ana.weber&#x40;firma.de",
        "payload={\"msg\":\"contact ana.weber\\u0040firma.de\"}|email|ana.weber\\u0040firma.de",
        "tel=%2B33%206%2012%2034%2056%2078&x=1|phone|%2B33%206%2012%2034%2056%2078",
    })
    void encodedValues(String text, String detector, String value) {
        assertThat(found(text)).containsExactly(detector + "=" + value);
    }

    /** Class 2, header context: nine bare digits in a table column its header names "ssn" are SSNs. */
    @ParameterizedTest
    @ValueSource(strings = {
        "id,name,ssn,amount\n1,Ana,123456789,42\n2,Bo,234567891,7",
        "id;Name;SSN;Betrag\n1;Ana;123456789;42,50",
        "| id | ssn |\n|---|---|\n| 1 | 123456789 |",
        "Here:\n\nid\tsocial_security_number\n1\t123456789\n",
    })
    void bareSsnsInAColumnNamedSsn(String text) {
        assertThat(found(text)).contains("ssn=123456789");
    }

    @ParameterizedTest
    @ValueSource(strings = {"id,name,order,amount\n1,Ana,123456789,42", "ssn,customer_name_and_full_address\n1,2,3\n123456789,4,5"})
    void bareNineDigitsInOtherColumnsStay(String text) {
        assertThat(found(text)).isEmpty();
    }
}

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
}

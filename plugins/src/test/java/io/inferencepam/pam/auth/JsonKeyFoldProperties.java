package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** {@link JsonKeyFold#key} is a class representative of {@link JsonKeyFold#sameKey}: pam-guard checks whole objects with it. */
class JsonKeyFoldProperties {

    @Property(tries = 5000)
    void equalKeysExactlyWhenSameKey(@ForAll("names") String a, @ForAll("names") String b) {
        assertThat(JsonKeyFold.key(a).equals(JsonKeyFold.key(b))).as(a + " / " + b).isEqualTo(JsonKeyFold.sameKey(a, b));
    }

    @Provide
    Arbitrary<String> names() {
        return Arbitraries.strings().withChars("mMoOdDeElL_-kK\u212A\u017FsSiI\u0130\u0131").ofMaxLength(6);
    }
}

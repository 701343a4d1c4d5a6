package io.inferencepam.pam.core;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** {@link KeyFold#fold} is a class representative of {@link KeyFold#same}: pam-guard checks whole objects with it. */
class KeyFoldProperties {

    @Property(tries = 5000)
    void equalKeysExactlyWhenSameKey(@ForAll("names") String a, @ForAll("names") String b) {
        assertThat(KeyFold.fold(a).equals(KeyFold.fold(b))).as(a + " / " + b).isEqualTo(KeyFold.same(a, b));
    }

    @Provide
    Arbitrary<String> names() {
        return Arbitraries.strings().withChars("mMoOdDeElL_-kK\u212A\u017FsSiI\u0130\u0131").ofMaxLength(6);
    }
}

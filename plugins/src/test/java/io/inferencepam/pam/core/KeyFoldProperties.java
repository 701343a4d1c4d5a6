package io.inferencepam.pam.core;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import java.util.List;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** {@link KeyFold#fold} is a class representative of {@link KeyFold#same}: pam-guard checks whole objects with it. */
class KeyFoldProperties {

    @Property(tries = 5000)
    void equalKeysExactlyWhenSameKey(@ForAll("names") String a, @ForAll("names") String b) {
        assertThat(KeyFold.fold(a).equals(KeyFold.fold(b))).as(a + " / " + b).isEqualTo(KeyFold.same(a, b));
    }

    /** The hash {@link FoldedNames} compares first is the folded spelling's: same keys hash alike. */
    @Property(tries = 5000)
    void foldHashIsTheFoldedSpellingsHash(@ForAll("names") String a, @ForAll("keys") String any) {
        assertThat(KeyFold.foldHash(a)).as(a).isEqualTo(KeyFold.fold(a).hashCode());
        assertThat(KeyFold.foldHash(any)).isEqualTo(KeyFold.fold(any).hashCode());
    }

    /** {@link FoldedNames#find}: the equal name, else the first name the key is another spelling of. */
    @Property(tries = 5000)
    void findIsTheEqualNameElseTheFirstSameName(@ForAll("names") String key, @ForAll("nameLists") List<String> names) {
        String expected = names.contains(key) ? key : names.stream().filter(n -> KeyFold.same(key, n)).findFirst().orElse(null);
        assertThat(FoldedNames.of(names).find(key)).as(key + " in " + names).isEqualTo(expected);
    }

    /** A key whose fold hash equals a name's without being a spelling of it (U+0003 U+0011 and "n" both hash to 110). */
    @Example
    void aHashCollisionIsNotAMatch() {
        assertThat(KeyFold.foldHash("\u0003\u0011")).isEqualTo(KeyFold.foldHash("n"));
        assertThat(FoldedNames.of(List.of("n", "stream")).find("\u0003\u0011")).isNull();
        assertThat(FoldedNames.of(List.of("n", "stream")).find("N")).isEqualTo("n");
        assertThat(FoldedNames.of(List.of("n", "stream")).find("\u017Ftream")).isEqualTo("stream");
        assertThat(FoldedNames.of(List.of()).find("n")).isNull();
    }

    @Provide
    Arbitrary<List<String>> nameLists() {
        return names().list().ofMaxSize(8);
    }

    @Provide
    Arbitrary<String> keys() {
        // any UTF-16, lone surrogates and supplementary characters (whose folds may leave the BMP) included
        return Arbitraries.strings().all().ofMaxLength(8);
    }

    @Provide
    Arbitrary<String> names() {
        return Arbitraries.strings().withChars("mMoOdDeElL_-kK\u212A\u017FsSiI\u0130\u0131").ofMaxLength(6);
    }
}

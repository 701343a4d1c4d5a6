package io.inferencepam.runner.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.conf.ConfCompiler;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Chars;
import net.jqwik.api.constraints.StringLength;

/**
 * APISIX builds the key as {@code <conf type>#<conf id>#<phase plugin>#<conf version>}
 * ({@code core.lrucache.plugin_ctx_id}). The type is a fixed word, the version numbers joined by
 * {@code &}, the phase plugin one of three names; only the id comes from configuration. APISIX's
 * schema keeps {@code #} and {@code &} out of ids today, but the phase a token is bound to must not
 * depend on that: whatever the id holds, the key's phase is the one APISIX put there.
 */
class ConfIdentityProperties {
    @Provide
    Arbitrary<String> types() {
        return Arbitraries.of("route", "route&service", "route&consumer", "route&service&consumer&consumer_group", "global_rule");
    }

    @Provide
    Arbitrary<String> plugins() {
        return Arbitraries.of("ext-plugin-pre-req", "ext-plugin-post-req", "ext-plugin-post-resp");
    }

    @Provide
    Arbitrary<String> versions() {
        return Arbitraries.longs().between(1, 1_000_000).list().ofMinSize(1).ofMaxSize(4)
                .map(v -> String.join("&", v.stream().map(String::valueOf).toList()));
    }

    @Property
    void thePhaseIsTheOneApisixNamedWhateverTheIdHolds(@ForAll("types") String type,
            @ForAll @StringLength(max = 40) @Chars({'#', '&', 'r', '1', '-', 'e', 'x', 't', 'p', 'l', 'u', 'g', 'i', 'n', 's', 'o', 'q'}) String id,
            @ForAll("plugins") String plugin, @ForAll("versions") String version) {
        String key = type + "#" + id + "#" + plugin + "#" + version;
        assertThat(ConfIdentity.fromKey(key, "h", 1).apisixPlugin()).isEqualTo(plugin);
        assertThat(ConfCompiler.phaseOf(key)).contains(plugin.equals("ext-plugin-post-resp") ? Phase.RESPONSE : Phase.REQUEST);
        if (type.equals("route")) {
            assertThat(ConfIdentity.fromKey(key, "h", 1).routeId()).isEqualTo(id);
        }
    }

    @Example
    void anIdThatSpellsAnotherPhaseDoesNotChangeTheKeysPhase() {
        assertThat(ConfCompiler.phaseOf("route#x#ext-plugin-pre-req#9#ext-plugin-post-resp#3")).contains(Phase.RESPONSE);
        assertThat(ConfCompiler.phaseOf("route#x#ext-plugin-post-resp##ext-plugin-pre-req#3")).contains(Phase.REQUEST);
    }
}

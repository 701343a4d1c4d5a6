package io.inferencepam.runner.spi;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.conf.ConfCompiler;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ConfIdentityTest {
    @Test
    void aPlainRouteKey() {
        ConfIdentity id = ConfIdentity.fromKey("route#r1#ext-plugin-post-resp#7", "h", 3);
        assertThat(id.routeId()).isEqualTo("r1");
        assertThat(id.apisixPlugin()).isEqualTo("ext-plugin-post-resp");
        assertThat(ConfCompiler.phaseOf(id.key())).contains(Phase.RESPONSE);
    }

    @Test
    void aRouteMergedWithItsServiceOrConsumerKeepsItsRouteIdAndPhase() {
        // APISIX joins merged conf types, ids and versions with '&' (core.lrucache.plugin_ctx_id)
        ConfIdentity service = ConfIdentity.fromKey("route&service#r1&s1#ext-plugin-pre-req#12&7", "h", 3);
        assertThat(service.routeId()).isEqualTo("r1");
        assertThat(service.apisixPlugin()).isEqualTo("ext-plugin-pre-req");
        assertThat(ConfCompiler.phaseOf(service.key())).contains(Phase.REQUEST);
        ConfIdentity consumer = ConfIdentity.fromKey("route&service&consumer#r1&s1&alice#ext-plugin-post-resp#1&2&3", "h", 3);
        assertThat(consumer.routeId()).isEqualTo("r1");
        assertThat(ConfCompiler.phaseOf(consumer.key())).contains(Phase.RESPONSE);
    }

    @Test
    void aKeyOfAnotherShapeNamesNoPhase() {
        assertThat(ConfCompiler.phaseOf("probe")).isEqualTo(Optional.empty());
        assertThat(ConfCompiler.phaseOf("upstream#u1#ext-plugin-pre-req#1")).isEqualTo(Optional.empty());
        assertThat(ConfCompiler.phaseOf("route#r1#proxy-rewrite#1")).isEqualTo(Optional.empty());
    }
}

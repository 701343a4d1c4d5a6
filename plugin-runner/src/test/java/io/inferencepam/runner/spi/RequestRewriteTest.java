package io.inferencepam.runner.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class RequestRewriteTest {
    @Test
    void headerInjectionIsRefused() {
        assertThatThrownBy(() -> RequestRewrite.builder().setHeader("x-model", "a\r\nx-admin: 1").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageNotContaining("x-admin");
        assertThatThrownBy(() -> new Stop(403, Headers.of("x", "a\nb"), Body.empty()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aPathWithAQueryIsRefused() {
        assertThatThrownBy(() -> RequestRewrite.builder().path("/a?b=1").build())
                .hasMessageContaining("use args");
    }

    @Test
    void laterRewritesWinPerName() {
        RequestRewrite a = RequestRewrite.builder().setHeader("X", "1").setArg("k", "a").path("/a").build();
        RequestRewrite b = RequestRewrite.builder().removeHeader("x").setArg("k", "b", "c").build();
        RequestRewrite merged = a.then(b);
        assertThat(merged.headers()).containsEntry("x", null);
        assertThat(merged.args().get("k")).containsExactly("b", "c");
        assertThat(merged.path()).contains("/a");
    }

    @Test
    void applyingARewriteShowsTheNextPluginTheNewRequest() {
        HttpRequest r = new HttpRequest(1, "GET", "/p", Headers.of("a", "1"), Headers.of("authorization", "Bearer t"),
                "::1", Vars.empty(), Optional.empty());
        HttpRequest next = r.apply(RequestRewrite.builder().removeHeader("authorization").removeArg("a")
                .setHeader("api-key", "k").body(Body.utf8("x")).build());
        assertThat(next.headers().contains("authorization")).isFalse();
        assertThat(next.headers().first("api-key")).contains("k");
        assertThat(next.args().isEmpty()).isTrue();
        assertThat(next.body()).contains(Body.utf8("x"));
    }

    @Test
    void headersNeverPrintValues() {
        assertThat(Headers.of("authorization", "Bearer secret").toString()).doesNotContain("secret");
        assertThat(Body.utf8("secret").toString()).doesNotContain("secret");
    }
}

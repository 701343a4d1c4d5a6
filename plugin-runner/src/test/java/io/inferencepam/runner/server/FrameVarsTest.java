package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.protocol.Inbound;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** When the call frame answers a var, and what it answers (APISIX's own answers: tests-e2e FrameVarsTest). */
class FrameVarsTest {

    static Inbound.RequestCall call(List<Header> headers, int declared, String ip, int ipBytes) {
        return new Inbound.RequestCall(1, 1, "POST", "/v1/chat/completions", Headers.empty(), Headers.of(headers), ip,
                declared, ipBytes);
    }

    static Inbound.RequestCall call(List<Header> headers) {
        return call(headers, headers.size(), "10.0.0.7", 4);
    }

    static List<Header> fillers(int n) {
        List<Header> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(new Header("x-f-" + i, "v"));
        }
        return out;
    }

    static List<Header> withAuthorization(int fillers) {
        List<Header> out = fillers(fillers);
        out.add(new Header("authorization", "Bearer t"));
        return out;
    }

    @Test
    void headerVarsJoinEveryLineOfTheNameAsNginxDoes() {
        FrameVars trusting = FrameVars.of(true);
        Inbound.RequestCall c = call(List.of(new Header("x-model", "a"), new Header("x_model", ""), new Header("X-Model", "c"),
                new Header("cookie", "a=1"), new Header("cookie", "b=2"), new Header("authorization", "Bearer t")));
        assertThat(trusting.answers("http_x_model", c)).isTrue();
        assertThat(trusting.answer("http_x_model", c)).contains(Optional.of("a, , c"));
        assertThat(trusting.answer("HTTP_X_MODEL", c)).as("lua-nginx-module lower-cases var names").contains(Optional.of("a, , c"));
        assertThat(trusting.answer("http_cookie", c)).contains(Optional.of("a=1; b=2"));
        assertThat(trusting.answer("http_authorization", c)).contains(Optional.of("Bearer t"));
    }

    /**
     * By default a list under 100 entries may still lack lines past the 100th (a read-then-remove before
     * pre-req, conformance H3): only Authorization, which nginx refuses twice (N1), is answered from its
     * line; any other header var is asked, present or absent.
     */
    @Test
    void byDefaultOnlyAHeaderNginxAcceptsOnceIsAnsweredFromTheFrame() {
        Inbound.RequestCall c = call(List.of(new Header("x-model", "a"), new Header("cookie", "a=1"),
                new Header("content-type", "application/json"), new Header("authorization", "Bearer t")));
        assertThat(FrameVars.ASK_ABSENT.answer("http_authorization", c)).contains(Optional.of("Bearer t"));
        assertThat(FrameVars.ASK_ABSENT.answer("HTTP_AUTHORIZATION", c)).contains(Optional.of("Bearer t"));
        for (String v : List.of("http_x_model", "http_cookie", "http_content_type")) {
            assertThat(FrameVars.ASK_ABSENT.answers(v, c)).as(v + ": present, maybe not all its lines").isFalse();
        }
        assertThat(FrameVars.ASK_ABSENT.answer("http_x_absent", c)).as("no such header: asked").isEmpty();
        assertThat(FrameVars.ASK_ABSENT.answers("http_x_absent", c))
                .as("absence is never concluded from the frame: a plugin before pre-req may have shrunk a cut list").isFalse();
        assertThat(FrameVars.ASK_ABSENT.answers("http_authorization", call(List.of(new Header("x-model", "a")))))
                .as("an absent Authorization is asked too").isFalse();
    }

    @Test
    void aListThatMayHaveBeenCutAnswersNoHeaderVar() {
        assertThat(FrameVars.ASK_ABSENT.answers("http_authorization", call(withAuthorization(98)))).isTrue();
        assertThat(FrameVars.ASK_ABSENT.answers("http_authorization", call(withAuthorization(99)))).as("exactly the cap: maybe cut").isFalse();
        assertThat(FrameVars.ASK_ABSENT.answers("http_authorization", call(withAuthorization(130)))).isFalse();
        // 99 decoded entries of a 100-entry vector (one without a name): the vector length counts
        assertThat(FrameVars.ASK_ABSENT.answers("http_authorization", call(withAuthorization(98), 100, "10.0.0.7", 4))).isFalse();
        List<Header> nullValue = new ArrayList<>(fillers(3));
        nullValue.add(new Header("authorization", null));
        assertThat(FrameVars.ASK_ABSENT.answers("http_authorization", call(nullValue))).isFalse();
    }

    @Test
    void onlyVarsTheFrameReallyCarries() {
        Inbound.RequestCall c = call(List.of(new Header("host", "upstream.internal")));
        assertThat(FrameVars.ASK_ABSENT.answers("http_host", c)).as("the frame's host is $upstream_host").isFalse();
        assertThat(FrameVars.ASK_ABSENT.answers("http_", c)).isFalse();
        assertThat(FrameVars.ASK_ABSENT.answers("request_uri", c)).isFalse();
        assertThat(FrameVars.ASK_ABSENT.answers("request_id", c)).isFalse();
        assertThat(FrameVars.ASK_ABSENT.answers("remote_addr", c)).isTrue();
        assertThat(FrameVars.ASK_ABSENT.answer("remote_addr", c)).isEqualTo(Optional.of(Optional.of("10.0.0.7")));
        assertThat(FrameVars.ASK_ABSENT.answers("remote_addr", call(List.of(), 0, "0:0:0:0:0:0:0:1", 16))).as("IPv6: asked").isFalse();
        assertThat(FrameVars.ASK_ABSENT.answers("remote_addr", call(List.of(), 0, "10.0.0.7", 16)))
                .as("an IPv4-mapped 16-byte address reads ::ffff:… in nginx").isFalse();
        assertThat(FrameVars.ASK_ABSENT.answers("remote_addr", call(List.of(), 0, "", 0))).isFalse();
    }

    /**
     * With the operator's statement (PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ) a complete list proves a
     * header absent; a list that may have been cut still proves nothing, and nothing but header vars
     * changes.
     */
    @Test
    void withTheOperatorsStatementACompleteListProvesAbsence() {
        FrameVars trusting = FrameVars.of(true);
        Inbound.RequestCall c = call(List.of(new Header("authorization", "Bearer t"), new Header("host", "upstream.internal")));
        assertThat(trusting.answer("http_x_model", c)).as("absent from a complete list: missing, no question").contains(Optional.empty());
        assertThat(trusting.answer("http_cookie", c)).contains(Optional.empty());
        assertThat(trusting.answer("http_authorization", c)).contains(Optional.of("Bearer t"));
        assertThat(trusting.answers("http_host", c)).as("the frame's host is $upstream_host").isFalse();
        assertThat(trusting.answers("request_uri", c)).isFalse();
        assertThat(trusting.answers("http_", c)).isFalse();
        assertThat(trusting.answers("http_x_model", call(withAuthorization(99)))).as("exactly the cap: maybe cut").isFalse();
        assertThat(trusting.answers("http_x_model", call(withAuthorization(130)))).isFalse();
        assertThat(trusting.answers("http_x_model", call(withAuthorization(98), 100, "10.0.0.7", 4))).isFalse();
        List<Header> nullValue = new ArrayList<>(fillers(3));
        nullValue.add(new Header("x-other", null));
        assertThat(trusting.answers("http_x_model", call(nullValue))).isFalse();
        assertThat(FrameVars.of(false)).isSameAs(FrameVars.ASK_ABSENT);
        assertThat(FrameVars.ASK_ABSENT.answers("http_x_model", c)).as("default: absence is asked").isFalse();
    }
}

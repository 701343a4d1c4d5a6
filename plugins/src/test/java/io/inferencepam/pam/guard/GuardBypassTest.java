package io.inferencepam.pam.guard;

import io.inferencepam.pam.catalog.CanonicalPath;
import static io.inferencepam.pam.guard.GuardCalls.call;
import static io.inferencepam.pam.guard.GuardCalls.error;
import static io.inferencepam.pam.guard.GuardCalls.passed;
import static io.inferencepam.pam.guard.GuardCalls.plugin;
import static io.inferencepam.pam.guard.GuardCalls.stop;
import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import org.junit.jupiter.api.Test;

/**
 * Every way of spelling {@code POST /v1/load_lora_adapter} so that a gateway and a model server
 * disagree: refused (400 when the path is not canonical, 403 when it is a dangerous one in
 * disguise), never passed. $uri is what nginx decoded; real_request_uri what the client sent.
 */
class GuardBypassTest {
    static final Plugin GUARD = plugin("{\"allow_only_inference\":false}");

    static RequestDecision send(String rawUri, String decodedPath) {
        return call("POST", decodedPath).raw(rawUri).run(GUARD);
    }

    static String code(RequestDecision d) {
        return error(d).path("code").asText();
    }

    @Test
    void percentEncodingAndDoubleEncodingAreRefused() {
        assertThat(code(send("/v1/load%5Flora%5Fadapter", "/v1/load_lora_adapter"))).isEqualTo("non_canonical_path");
        assertThat(code(send("/v1%2Fload_lora_adapter", "/v1/load_lora_adapter"))).isEqualTo("non_canonical_path");
        assertThat(code(send("/v1/x/%2e%2e/load_lora_adapter", "/v1/load_lora_adapter"))).isEqualTo("non_canonical_path");
        // double encoding: nginx decodes once to %2F; a server that decodes again sees a '/'
        assertThat(code(send("/v1%252Fload_lora_adapter", "/v1%2Fload_lora_adapter"))).isEqualTo("non_canonical_path");
        assertThat(code(send("/api%2Fpull", "/api/pull"))).isEqualTo("non_canonical_path");
    }

    @Test
    void dotSegmentsDuplicateSlashesTrailingSlashAndParamsAreRefused() {
        assertThat(code(send("/v1/chat/../load_lora_adapter", "/v1/load_lora_adapter"))).isEqualTo("non_canonical_path");
        assertThat(code(send("/v1/./load_lora_adapter", "/v1/load_lora_adapter"))).isEqualTo("non_canonical_path");
        assertThat(code(send("//v1/load_lora_adapter", "/v1/load_lora_adapter"))).isEqualTo("non_canonical_path");
        assertThat(code(send("/v1//load_lora_adapter", "/v1/load_lora_adapter"))).isEqualTo("non_canonical_path");
        assertThat(code(send("/v1/load_lora_adapter/", "/v1/load_lora_adapter/"))).isEqualTo("non_canonical_path");
        assertThat(code(send("/v1/load_lora_adapter;x=1", "/v1/load_lora_adapter;x=1"))).isEqualTo("non_canonical_path");
        assertThat(code(send("/v1/load_lora_adapter;", "/v1/load_lora_adapter;"))).isEqualTo("non_canonical_path");
        assertThat(code(send("/v1\\load_lora_adapter", "/v1\\load_lora_adapter"))).isEqualTo("non_canonical_path");
        // the raw path must be what nginx decoded, byte for byte
        assertThat(code(send("/v1/chat/completions", "/v1/load_lora_adapter"))).isEqualTo("non_canonical_path");
        RequestDecision empty = call("POST", "/v1/load_lora_adapter").var(CanonicalPath.RAW_TARGET_VAR, "").run(GUARD);
        assertThat(stop(empty).status()).isEqualTo(400);
    }

    /**
     * APISIX 3.18 answers {@code request_uri} normalised ({@code uri .. is_args .. args}, init.lua): it
     * always looks canonical. The guard judges {@code real_request_uri}, and refuses a call without it.
     */
    @Test
    void theRawTargetIsRealRequestUriNotTheNormalisedRequestUri() {
        assertThat(code(call("POST", "/v1/chat/completions").raw("/v1/chat/%63ompletions")
                .var("request_uri", "/v1/chat/completions").run(GUARD))).isEqualTo("non_canonical_path");
        assertThat(code(call("POST", "/v1/chat/completions").raw("/v1/models/../chat/completions")
                .var("request_uri", "/v1/chat/completions").run(GUARD))).isEqualTo("non_canonical_path");
        RequestDecision missing = call("POST", "/v1/chat/completions").noRawTarget()
                .var("request_uri", "/v1/chat/completions").run(GUARD);
        assertThat(stop(missing).status()).isEqualTo(400);
        assertThat(code(missing)).isEqualTo("non_canonical_path");
    }

    @Test
    void letterCaseDoesNotOpenADangerousEndpoint() {
        for (String p : new String[] {"/V1/LOAD_LORA_ADAPTER", "/v1/Load_Lora_Adapter", "/Collective_RPC", "/API/PULL",
                "/V2/Repository/Models/m/Load", "/DEBUG/pprof/heap"}) {
            RequestDecision d = send(p, p);
            assertThat(stop(d).status()).as(p).isEqualTo(403);
            assertThat(code(d)).as(p).isEqualTo("endpoint_blocked");
        }
        // and with allow-only-inference, a case-changed inference path is not inference either
        RequestDecision d = call("POST", "/V1/Chat/Completions").run(plugin("{}"));
        assertThat(code(d)).isEqualTo("endpoint_not_allowed");
    }

    @Test
    void methodOverridesAreRefused() {
        for (String header : new String[] {"http_x_http_method_override", "http_x_http_method", "http_x_method_override"}) {
            RequestDecision d = call("POST", "/v1/chat/completions").var(header, "DELETE").run(GUARD);
            assertThat(code(d)).as(header).isEqualTo("method_override_refused");
            assertThat(stop(d).status()).isEqualTo(400);
        }
        for (String name : new String[] {"_method", "_METHOD", " _method"}) {
            GuardCalls c = call("POST", "/v1/chat/completions").raw("/v1/chat/completions?_method=DELETE");
            c.args.add(new Header(name, "DELETE"));
            assertThat(code(c.run(GUARD))).as(name).isEqualTo("method_override_refused");
        }
        // an empty override header counts: the var exists
        assertThat(code(call("POST", "/v1/chat/completions").var("http_x_http_method_override", "").run(GUARD)))
                .isEqualTo("method_override_refused");
    }

    @Test
    void everyMethodOfADangerousPathIsRefused() {
        for (String m : new String[] {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
            assertThat(stop(call(m, "/collective_rpc").run(GUARD)).status()).as(m).isEqualTo(403);
        }
        // lower-case method names are read as what they are
        assertThat(stop(call("post", "/collective_rpc").run(GUARD)).status()).isEqualTo(403);
    }

    @Test
    void bodyCapComesBeforeAnyParsing() {
        Plugin p = plugin("{\"max_body_bytes\":1024}");
        GuardCalls big = GuardCalls.chat();
        big.body = Body.wrap(new byte[1025]); // not even JSON: never read
        RequestDecision d = big.run(p);
        assertThat(stop(d).status()).isEqualTo(413);
        assertThat(code(d)).isEqualTo("request_too_large");
        GuardCalls ok = GuardCalls.chat();
        ok.body = Body.wrap(new byte[1024]);
        assertThat(passed(ok.run(p))).isTrue(); // no body checks configured: the bytes are not parsed
        // the default cap is 1 MiB
        GuardCalls def = GuardCalls.chat();
        def.body = Body.wrap(new byte[1024 * 1024 + 1]);
        assertThat(stop(def.run(plugin("{}"))).status()).isEqualTo(413);
    }
}

package io.inferencepam.driver;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The driver's {@code $uri} against nginx's {@code ngx_http_parse_complex_uri} (src/http/ngx_http_parse.c,
 * {@code merge_slashes on}): each expectation follows one rule of that state machine, named in the row.
 */
class NginxPathTest {

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "/v1/chat/completions | /v1/chat/completions", // simple URI: taken as sent
            "/v1/%6Coad_lora_adapter | /v1/load_lora_adapter", // %XX decoded
            "/v1/chat/%63ompletions | /v1/chat/completions",
            "//v1//load_lora_adapter | /v1/load_lora_adapter", // sw_slash + '/': merged
            "/v1%2Fload_lora_adapter | /v1/load_lora_adapter", // decoded '/' re-read as '/'
            "/a%2F%2F/b | /a/b", // decoded slashes merge too
            "/v1/chat/completions/..%2F..%2Fload_lora_adapter | /v1/load_lora_adapter", // decoded '/' ends a '..'
            "/v1/x/../y | /v1/y", // sw_dot_dot + '/': back to the previous '/'
            "/v1/./y | /v1/y", // sw_dot + '/': the '.' dropped
            "/v1/%2e%2E/y | /y", // decoded '.' forms dot segments
            "/a/b/.. | /a/", // end in sw_dot_dot: resolved, trailing '/'
            "/a/. | /a/", // end in sw_dot: the '.' dropped
            "/a/..x | /a/..x", // '..' followed by another byte: an ordinary segment
            "/a/... | /a/...",
            "/a/.b | /a/.b",
            "/a%252e%252e/x | /a%2e%2e/x", // decoded '%' kept literally: one decoding only
            "/a%3Fb | /a?b", // decoded '?' kept literally, not the query
            "/a%23b | /a#b", // decoded '#' kept literally
            "/a#frag/../x | /a", // raw '#': the path ends
            "/a;b=c | /a;b=c", // ';' is an ordinary byte
            "/a+b | /a+b",
            "/caf%C3%A9 | /café",
            "/a/ | /a/",
            "/ | /",
    })
    void normalisesAsNginx(String raw, String expected) {
        assertThat(NginxText.normalizePath(raw)).hasValue(expected);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "/../x", "/..", "/a/../../x", "/%2e%2e/x", "/a/%2E%2e/..", "//../x", // '..' above the root
            "/a%zz", "/a%2", "/a%", "/a%g0", // '%' without two hex digits
            "/a%00b", // decoded NUL
            "/a b", "/a\tb", "/a\u007fb", // control bytes, space, DEL in the request line
            "v1/chat", "", // not origin-form
    })
    void refusesWhatNginxRefuses(String raw) {
        assertThat(NginxText.normalizePath(raw)).as(raw).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"/a%0Ab", "/a%20b"})
    void decodedControlBytesAndSpacesAreKept(String raw) {
        // only the raw request line refuses them; sw_quoted_second passes any decoded byte but NUL
        assertThat(NginxText.normalizePath(raw)).hasValue(NginxText.unescape(raw, false));
    }

    @Property(tries = 2000)
    void theResultHasNoSegmentNginxWouldStillChange(@ForAll("paths") String raw) {
        Optional<String> uri = NginxText.normalizePath(raw);
        uri.ifPresent(u -> {
            assertThat(u).startsWith("/").doesNotContain("//").doesNotContain("/./").doesNotContain("/../")
                    .doesNotEndWith("/.").doesNotEndWith("/..");
            if (!u.contains("%")) {
                // normalising what nginx produced changes nothing
                assertThat(NginxText.normalizePath(u)).hasValue(u);
            }
        });
    }

    @Provide
    Arbitrary<String> paths() {
        List<String> pieces = List.of("/", "a", "b", ".", "..", "%2e", "%2E", "%2f", "%2F", "%61", "%25", "%3F", ";", "+");
        return Arbitraries.of(pieces).list().ofMaxSize(12).map(l -> "/" + String.join("", l));
    }
}

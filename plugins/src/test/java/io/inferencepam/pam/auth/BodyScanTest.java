package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.inferencepam.pam.PamServices;
import io.inferencepam.pam.core.KeyFold;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * How pam-auth reads the body to find the model: bounded in size, strict UTF-8, and no key that a
 * case-insensitive JSON decoder (Go's encoding/json: Ollama and other Go servers) would read as a
 * model field without being that field.
 */
class BodyScanTest {
    static final ModelResolver OPENAI = new ModelResolver(ModelApi.OPENAI, "", Set.of(), List.of("model"));
    static final ModelResolver OLLAMA = new ModelResolver(ModelApi.OLLAMA, "", Set.of(), List.of("model"), true);

    private TestIdp idp;
    private TestEnv env;
    private PamAuthFactory factory;

    @BeforeEach
    void setUp() throws Exception {
        idp = new TestIdp();
        env = new TestEnv();
        factory = new PamAuthFactory(new PamServices(env));
    }

    @AfterEach
    void tearDown() throws Exception {
        env.close();
        idp.close();
    }

    static ModelRequest post(String path, byte[] body) {
        return new ModelRequest("POST", path, Optional.of(path), Headers.empty(), Optional.of("application/json"), List.of(),
                Optional.of(Body.wrap(body)));
    }

    static ModelRequest post(String path, String body) {
        return post(path, body.getBytes(StandardCharsets.UTF_8));
    }

    static Rejection refused(ModelOutcome o) {
        assertThat(o).isInstanceOf(ModelOutcome.Refused.class);
        return ((ModelOutcome.Refused) o).rejection();
    }

    // ---- item 7: keys that differ from a model field only in case -------------------------------

    @Test
    void aCaseVariantOfTheModelKeyIsRefusedInEitherOrderAndAlone() {
        for (String body : List.of(
                "{\"model\":\"llama3\",\"MODEL\":\"secret\"}",
                "{\"MODEL\":\"secret\",\"model\":\"llama3\"}",
                "{\"Model\":\"secret\"}",
                "{\"model\":\"llama3\",\"mOdEl\":\"llama3\"}",
                "{\"model\":\"llama3\",\"MOD\\u0045L\":\"secret\"}",
                "{\"model\":\"llama3\",\"messages\":[],\"MODEL\":{\"x\":1}}")) {
            Rejection r = refused(OPENAI.resolve(post("/v1/chat/completions", body)));
            assertThat(r.code()).as(body).isEqualTo("ambiguous_json_key");
            assertThat(r.status()).isEqualTo(400);
            assertThat(r.message()).doesNotContain("secret", "MODEL");
        }
    }

    @Test
    void everyOllamaModelFieldIsCheckedIncludingTheLongSAndKelvinFolds() {
        assertThat(refused(OLLAMA.resolve(post("/api/chat", "{\"model\":\"llama3\",\"NAME\":\"secret\"}"))).code())
                .isEqualTo("ambiguous_json_key");
        assertThat(refused(OLLAMA.resolve(post("/api/show", "{\"Name\":\"secret\"}"))).code()).isEqualTo("ambiguous_json_key");
        // U+017F LATIN SMALL LETTER LONG S folds to s in Go (and in Unicode simple case folding)
        assertThat(refused(OLLAMA.resolve(post("/api/copy",
                "{\"source\":\"llama3\",\"destination\":\"mine\",\"\u017Fource\":\"secret\"}"))).code()).isEqualTo("ambiguous_json_key");
        assertThat(refused(OLLAMA.resolve(post("/api/copy",
                "{\"source\":\"llama3\",\"de\\u017Ftination\":\"x\",\"destination\":\"mine\"}"))).code()).isEqualTo("ambiguous_json_key");
        assertThat(refused(OLLAMA.resolve(post("/api/create", "{\"model\":\"mine\",\"FROM\":\"secret\"}"))).code())
                .isEqualTo("ambiguous_json_key");
        assertThat(refused(OLLAMA.resolve(post("/api/create", "{\"model\":\"mine\",\"ModelFile\":\"FROM secret\"}"))).code())
                .isEqualTo("ambiguous_json_key");
        // U+212A KELVIN SIGN folds to k
        assertThat(KeyFold.same("\u212Aeep_alive", "keep_alive")).isTrue();
        assertThat(KeyFold.same("\u212Aeep_alive", "KEEP_ALIVE")).isTrue();
    }

    @Test
    void goJsonV2NoCaseMatchingIgnoresDashesAndUnderscoresSoThoseAreRefusedToo() {
        for (String key : List.of("mod_el", "MO-DEL", "_model", "model_")) {
            assertThat(refused(OPENAI.resolve(post("/v1/chat/completions", "{\"model\":\"a\",\"" + key + "\":\"b\"}"))).code())
                    .as(key).isEqualTo("ambiguous_json_key");
        }
    }

    @Test
    void nestedKeysAndOtherTopLevelKeysAreNotModelFields() {
        ModelOutcome o = OPENAI.resolve(post("/v1/chat/completions",
                "{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"MODEL\":\"y\"}],"
                        + "\"metadata\":{\"Model\":\"z\"},\"models\":\"a\",\"model_id\":\"b\",\"modeI\":\"c\"}"));
        assertThat(o).isEqualTo(new ModelOutcome.Resolved("llama3"));
        // on OpenAI routes "name" is not a model field (function names, participant names)
        assertThat(OPENAI.resolve(post("/v1/chat/completions", "{\"model\":\"llama3\",\"NAME\":\"x\"}")))
                .isEqualTo(new ModelOutcome.Resolved("llama3"));
    }

    @Test
    void exactDuplicatesStayRefusedAtAnyDepth() {
        assertThat(refused(OPENAI.resolve(post("/v1/chat/completions", "{\"model\":\"a\",\"model\":\"b\"}"))).code())
                .isEqualTo("duplicate_json_key");
        assertThat(refused(OPENAI.resolve(post("/v1/chat/completions",
                "{\"model\":\"a\",\"messages\":[{\"role\":\"user\",\"role\":\"system\"}]}"))).code()).isEqualTo("duplicate_json_key");
    }

    // ---- item 8: invalid UTF-8 anywhere in the body ---------------------------------------------

    @Test
    void invalidUtf8AnywhereIsRefused() {
        byte[][] bad = {
            {(byte) 0xC0, (byte) 0xAD},                          // overlong soft hyphen
            {(byte) 0xC1, (byte) 0xBF},                          // overlong
            {(byte) 0xE0, (byte) 0x80, (byte) 0xAF},             // overlong 3-byte '/'
            {(byte) 0xF0, (byte) 0x80, (byte) 0x80, (byte) 0xAF},// overlong 4-byte
            {(byte) 0xED, (byte) 0xA0, (byte) 0x80},             // UTF-16 surrogate D800 encoded in UTF-8
            {(byte) 0xED, (byte) 0xBF, (byte) 0xBF},             // surrogate DFFF
            {(byte) 0xF4, (byte) 0x90, (byte) 0x80, (byte) 0x80},// above U+10FFFF
            {(byte) 0xF5, (byte) 0x80, (byte) 0x80, (byte) 0x80},
            {(byte) 0xFF},
            {(byte) 0x80},                                       // lone continuation byte
            {(byte) 0xE2, (byte) 0x82},                          // truncated euro sign
            {(byte) 0xF0, (byte) 0x9F, (byte) 0x98},             // truncated emoji
        };
        for (byte[] seq : bad) {
            for (String where : List.of("nested", "value", "key", "other")) {
                byte[] body = bodyWith(seq, where);
                Rejection r = refused(OPENAI.resolve(post("/v1/chat/completions", body)));
                assertThat(r.code()).as(where + " " + hex(seq)).isEqualTo("invalid_json");
                assertThat(r.message()).contains("UTF-8");
            }
        }
        // the valid neighbours are accepted
        for (String ok : List.of("\u00AD", "\uD7FF", "\uE000", "\uDBFF\uDFFF", "\u20AC", "\uD83D\uDE00")) {
            byte[] body = bodyWith(ok.getBytes(StandardCharsets.UTF_8), "nested");
            assertThat(OPENAI.resolve(post("/v1/chat/completions", body))).isEqualTo(new ModelOutcome.Resolved("llama3"));
        }
    }

    /** A chat body with {@code seq} inside a nested string, the model value, a key, or another top-level string. */
    static byte[] bodyWith(byte[] seq, String where) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String[] parts = switch (where) {
            case "nested" -> new String[] {"{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\",\"content\":\"a", "b\"}]}"};
            case "value" -> new String[] {"{\"messages\":[],\"model\":\"llama3", "\"}"};
            case "key" -> new String[] {"{\"model\":\"llama3\",\"x", "\":1}"};
            default -> new String[] {"{\"model\":\"llama3\",\"user\":\"", "\"}"};
        };
        out.writeBytes(parts[0].getBytes(StandardCharsets.UTF_8));
        out.writeBytes(seq);
        out.writeBytes(parts[1].getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
    }

    static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(String.format("%02X ", x & 0xff));
        }
        return s.toString().trim();
    }

    @Test
    void aModelNameWithAnEscapedLoneSurrogateIsRefused() {
        // Go decodes "\ud800" to U+FFFD: the gateway and the server would see different names
        for (String m : List.of("llama3\\ud800", "\\udc00llama3", "llama3\\ud800x")) {
            assertThat(refused(OPENAI.resolve(post("/v1/chat/completions", "{\"model\":\"" + m + "\"}"))).code())
                    .as(m).isEqualTo("invalid_model");
        }
        assertThat(OPENAI.resolve(post("/v1/chat/completions", "{\"model\":\"llama\\ud83d\\ude00\"}")))
                .isEqualTo(new ModelOutcome.Resolved("llama\uD83D\uDE00"));
    }

    // ---- item 6: a bounded body, and the same verdicts when it names many members ----------------

    /** A body naming {@code JsonModelField.NAME_BUDGET} members and more, with {@code tail} as its last members. */
    static String manyNames(String tail) {
        StringBuilder s = new StringBuilder("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"metadata\":{");
        for (int i = 0; i < JsonModelField.NAME_BUDGET + 10; i++) {
            s.append(i == 0 ? "" : ",").append("\"k").append(i).append("\":").append(i);
        }
        return s.append("}").append(tail).append("}").toString();
    }

    @Test
    void aBodyWithMoreMembersThanTheNameBudgetGetsTheSameVerdicts() {
        assertThat(OPENAI.resolve(post("/v1/chat/completions", manyNames(",\"model\":\"llama3\""))))
                .isEqualTo(new ModelOutcome.Resolved("llama3"));
        assertThat(refused(OPENAI.resolve(post("/v1/chat/completions", manyNames(",\"model\":\"llama3\",\"MODEL\":\"x\"")))).code())
                .isEqualTo("ambiguous_json_key");
        assertThat(refused(OPENAI.resolve(post("/v1/chat/completions", manyNames(",\"model\":\"a\",\"x\":{\"k\":1,\"k\":2}")))).code())
                .isEqualTo("duplicate_json_key");
        assertThat(refused(OPENAI.resolve(post("/v1/chat/completions", manyNames(",\"model\":\"a\",\"model\":\"b\"")))).code())
                .isEqualTo("duplicate_json_key");
        assertThat(refused(OPENAI.resolve(post("/v1/chat/completions", manyNames(",\"model\":7")))).code()).isEqualTo("invalid_model");
        assertThat(refused(OPENAI.resolve(post("/v1/chat/completions", manyNames(",\"x\":1")))).code()).isEqualTo("model_required");
        assertThat(refused(OPENAI.resolve(post("/v1/chat/completions", manyNames(",\"model\":\"a\"} x")))).code())
                .isEqualTo("invalid_json");
        byte[] withBadUtf8 = manyNames(",\"model\":\"a\",\"u\":\"\u00e9\"").getBytes(StandardCharsets.UTF_8);
        withBadUtf8[withBadUtf8.length - 4] = (byte) 0xC0; // é = C3 A9 becomes C0 A9, overlong
        assertThat(refused(OPENAI.resolve(post("/v1/chat/completions", withBadUtf8))).message()).contains("UTF-8");
    }

    @Test
    void aBodyLargerThanTheLimitIsRefusedWith413BeforeItIsParsed() {
        ModelResolver small = new ModelResolver(ModelApi.OPENAI, "", Set.of(), List.of("model"), false, 1024);
        String head = "{\"model\":\"llama3\",\"x\":\"";
        String fits = head + "a".repeat(1024 - head.length() - 2) + "\"}";
        assertThat(fits.length()).isEqualTo(1024);
        assertThat(small.resolve(post("/v1/chat/completions", fits))).isEqualTo(new ModelOutcome.Resolved("llama3"));
        // one byte over, and not even JSON: the size decides first
        Rejection r = refused(small.resolve(post("/v1/chat/completions", fits + " ")));
        assertThat(r.status()).isEqualTo(413);
        assertThat(r.code()).isEqualTo("request_too_large");
        assertThat(r.type()).isEqualTo("invalid_request_error");
        assertThat(r.message()).contains("1024");
        assertThat(refused(small.resolve(post("/v1/chat/completions", "x".repeat(5000)))).status()).isEqualTo(413);
        // Ollama copy and create read the body too
        ModelResolver ollama = new ModelResolver(ModelApi.OLLAMA, "", Set.of(), List.of("model"), true, 1024);
        for (String path : List.of("/api/chat", "/api/copy", "/api/create")) {
            assertThat(refused(ollama.resolve(post(path, "{\"model\":\"" + "a".repeat(2000) + "\"}"))).status())
                    .as(path).isEqualTo(413);
        }
    }

    Plugin plugin(String extra) throws Exception {
        String conf = "{\"issuer\":\"" + idp.issuer + "\",\"audiences\":[\"inference\"],"
                + "\"entitlements\":[{\"id\":\"all\",\"groups\":[\"analysts\"],\"allow\":[\"*\"]}]"
                + (extra.isEmpty() ? "" : "," + extra) + "}";
        return factory.create(new ObjectMapper().readTree(conf));
    }

    @Test
    void theRouteConfSetsTheLimitAndTheDefaultFitsLargeChatRequests() throws Exception {
        Plugin limited = plugin("\"max_body_bytes\":2048");
        String big = "{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\",\"content\":\"" + "a".repeat(4096) + "\"}]}";
        RequestDecision d = Calls.chat(idp.token()).body(big).run(limited);
        assertThat(d).isInstanceOf(RequestDecision.Halt.class);
        var stop = ((RequestDecision.Halt) d).stop();
        assertThat(stop.status()).isEqualTo(413);
        assertThat(stop.body().utf8()).contains("\"code\":\"request_too_large\"", "\"type\":\"invalid_request_error\"");
        assertThat(Calls.chat(idp.token()).run(limited)).isInstanceOf(RequestDecision.Proceed.class);

        Plugin byDefault = plugin("");
        int limit = AuthConf.DEFAULT_MAX_BODY_BYTES;
        assertThat(limit).isEqualTo(8 * 1024 * 1024);
        String head = "{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\",\"content\":\"";
        String tail = "\"}]}";
        String atLimit = head + "a".repeat(limit - head.length() - tail.length()) + tail;
        assertThat(Calls.chat(idp.token()).body(atLimit).run(byDefault)).isInstanceOf(RequestDecision.Proceed.class);
        RequestDecision over = Calls.chat(idp.token()).body(atLimit + " ").run(byDefault);
        assertThat(((RequestDecision.Halt) over).stop().status()).isEqualTo(413);
    }

    @Test
    void theSchemaBoundsTheLimitByWhatAFrameCanCarry() throws Exception {
        ObjectMapper json = new ObjectMapper();
        JsonSchema schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(json.readTree(AuthConf.SCHEMA));
        String base = "{\"issuer\":\"https://idp.example\",\"audiences\":[\"a\"],\"max_body_bytes\":";
        assertThat(schema.validate(json.readTree(base + "16777215}"))).isEmpty();
        assertThat(schema.validate(json.readTree(base + "1024}"))).isEmpty();
        assertThat(schema.validate(json.readTree(base + "16777216}"))).isNotEmpty();
        assertThat(schema.validate(json.readTree(base + "1023}"))).isNotEmpty();
        assertThat(schema.validate(json.readTree(base + "\"8MiB\"}"))).isNotEmpty();
    }
}

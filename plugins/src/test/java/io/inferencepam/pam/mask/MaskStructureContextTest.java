package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Class 6: in JSON (and tool-call arguments) the key names the value; keys and numbers are scanned too. */
class MaskStructureContextTest {
    static String mask(String contentType, String body) {
        return bodyOf(MaskTestSupport.run(plugin("{}"), response(contentType, body.getBytes(StandardCharsets.UTF_8)), context()));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"ssn\": \"123456789\"}|{\"ssn\": \"[SSN]\"}",
        "{\"customer\":{\"SSN\":\"123 45 6789\"}}|{\"customer\":{\"SSN\":\"[SSN]\"}}",
        "{\"social_security_number\":\"123-45-6789\"}|{\"social_security_number\":\"[SSN]\"}",
        "{\"password\": \"hunter2\"}|{\"password\": \"[SECRET]\"}",
        "{\"db_password\":\"S3cr3t!pass\"}|{\"db_password\":\"[SECRET]\"}",
        "{\"aws_secret_access_key\":\"RADKqTHRBJqszNlDrN+y1GQgL3AluDnApKFse6eC\"}|{\"aws_secret_access_key\":\"[AWS_SECRET_KEY]\"}",
        "{\"client_secret\":\"abc123def456\"}|{\"client_secret\":\"[SECRET]\"}",
        "{\"card_number\": 4111111111111111, \"n\": 2}|{\"card_number\": \"[CARD]\", \"n\": 2}",
        "{\"contacts\":{\"ana.weber@firma.de\":{\"role\":\"owner\"}}}|{\"contacts\":{\"[EMAIL]\":{\"role\":\"owner\"}}}",
        "{\"phone\":\"4155550132\"}|{\"phone\":\"[PHONE]\"}",
    })
    void jsonBodies(String in, String out) {
        assertThat(mask("application/json", in)).isEqualTo(out);
    }

    @CsvSource(delimiter = '|', value = {
        "{\"ssn_count\": \"123456789\"}", "{\"password\": \"\"}", "{\"password\": \"${DB_PASSWORD}\"}", "{\"id\": \"123456789\"}",
        "{\"tokens\": 123456789}", "{\"password_hint\": \"your pet\"}", "{\"phone\": \"n/a\"}", "{\"n\": 1715524382123}",
    })
    @ParameterizedTest
    void lookAlikesInJsonStay(String in) {
        assertThat(mask("application/json", in)).isEqualTo(in);
    }

    @Test
    void toolCallArgumentsUseKeysAndNumbersToo() {
        String args = "{\\\"ssn\\\":\\\"123456789\\\",\\\"card\\\":4111111111111111,\\\"ana@firma.de\\\":1,\\\"password\\\":\\\"hunter22\\\"}";
        String in = "{\"choices\":[{\"message\":{\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"" + args + "\"}}]}}]}";
        assertThat(mask("application/json", in)).contains("[SSN]", "[CARD]", "[EMAIL]", "[SECRET]")
                .doesNotContain("123456789", "4111111111111111", "ana@firma.de", "hunter22");
    }

    @Test
    void streamedToolCallArgumentsUseKeysToo() {
        StringBuilder sse = new StringBuilder();
        for (String piece : new String[] {"{\\\"ss", "n\\\":\\\"1234", "56789\\\",\\\"pass", "word\\\":\\\"hunter22\\\"}"}) {
            sse.append("data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"")
                    .append(piece).append("\"}}]}}]}\n\n");
        }
        sse.append("data: [DONE]\n\n");
        String out = mask("text/event-stream", sse.toString());
        assertThat(out).contains("[SSN]", "[SECRET]").doesNotContain("56789", "hunter22");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "DB_PASSWORD=S3cr3t!pass|DB_PASSWORD=[SECRET]",
        "password: \"hunter22\"|password: \"[SECRET]\"",
        "  client_secret = 'abc123def456'|  client_secret = '[SECRET]'",
        "Passwort: Sommer2024!|Passwort: [SECRET]",
    })
    void keyValueSecretsInText(String in, String out) {
        assertThat(mask("text/plain", in)).isEqualTo(out);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"The password: make it long and unique", "password = ${DB_PASSWORD}", "secret: <your-secret>"})
    void proseAboutPasswordsStays(String in) {
        assertThat(mask("text/plain", in)).isEqualTo(in);
    }
}

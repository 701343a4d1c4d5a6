package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.runner.spi.HttpResponse;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Class 8: declared charsets are decoded correctly (and the masked body written back in them), or the response fails closed. */
class MaskCharsetTest {
    static HttpResponse run(String contentType, byte[] body) {
        return MaskTestSupport.run(plugin("{}"), response(contentType, body), context());
    }

    @ParameterizedTest
    @ValueSource(strings = {"utf-16le", "utf-16be", "utf-16", "iso-8859-1", "windows-1252", "\"UTF-16LE\"", "shift_jis", "euc-jp"})
    void declaredCharsetsAreDecodedAndWrittenBack(String charset) {
        Charset cs = Charset.forName(charset.replace("\"", ""));
        String text = charset.contains("jis") || charset.contains("jp") ? "メールはana.weber@firma.deです" : "Café: écrivez à ana.weber@firma.de";
        HttpResponse out = run("text/plain; charset=" + charset, text.getBytes(cs));
        assertThat(out.status()).isEqualTo(200);
        assertThat(new String(out.body().orElseThrow().toByteArray(), cs)).isEqualTo(text.replace("ana.weber@firma.de", "[EMAIL]"));
    }

    @Test
    void jsonInUtf16IsMaskedToo() {
        String json = "{\"choices\":[{\"message\":{\"content\":\"mail ana.weber@firma.de\"}}]}";
        HttpResponse out = run("application/json; charset=utf-16le", json.getBytes(StandardCharsets.UTF_16LE));
        assertThat(out.status()).isEqualTo(200);
        assertThat(new String(out.body().orElseThrow().toByteArray(), StandardCharsets.UTF_16LE)).contains("[EMAIL]").doesNotContain("ana.weber");
    }

    @Test
    void anUnknownCharsetFailsClosed() {
        HttpResponse out = run("text/plain; charset=x-made-up", "ana.weber@firma.de".getBytes(StandardCharsets.UTF_8));
        assertThat(out.status()).isEqualTo(502);
        assertThat(bodyOf(out)).contains("response_charset_unsupported").doesNotContain("ana.weber");
    }

    @Test
    void utf16WithoutADeclaredCharsetFailsClosedInsteadOfBeingScannedAsUtf8() {
        HttpResponse out = run("text/plain", "mail ana.weber@firma.de".getBytes(StandardCharsets.UTF_16LE));
        assertThat(out.status()).isEqualTo(502);
        assertThat(new String(out.body().orElseThrow().toByteArray(), StandardCharsets.UTF_8)).doesNotContain("a\u0000n\u0000a");
    }

    @Test
    void bytesInvalidInTheDeclaredCharsetFailClosed() {
        HttpResponse out = run("text/plain; charset=utf-16le", new byte[] {'a', 0, 0, (byte) 0xDC});
        assertThat(out.status()).isEqualTo(502);
    }
}

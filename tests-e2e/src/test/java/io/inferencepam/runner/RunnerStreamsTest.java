package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.RunnerProcess;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The response phase's complete header set, where APISIX alone loses information: an SSE stream
 * keeps {@code text/event-stream} (P4b) and gzip bytes keep their {@code Content-Encoding} (P5).
 */
class RunnerStreamsTest {
    static RunnerProcess runner;
    static EchoUpstream upstream;
    static ApisixDriver driver;

    @BeforeAll
    static void start() throws Exception {
        runner = Ready.await(RunnerProcess.start());
        upstream = EchoUpstream.start();
        driver = new ApisixDriver(runner.socket());
    }

    @AfterAll
    static void stop() throws Exception {
        driver.close();
        upstream.close();
        runner.close();
    }

    @Test
    void sseStreamKeepsItsContentTypeAndEveryEvent() {
        for (String conf : List.of("{}", "{\"response_body\":true}")) {
            upstream.respondSse(List.of("{\"delta\":\"a\"}", "{\"delta\":\"b\"}", "[DONE]"), Duration.ofMillis(20));
            RouteConf route = RouteConf.builder("stream-sse").postResp(new ConfEntry("test-respond", conf)).build();
            GatewayResult r = driver.call(route, ClientRequest.builder("POST", "/v1/chat/completions").body("{\"stream\":true}").build(), upstream);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.header("Content-Type")).as(conf + ": APISIX alone would send text/plain (P4b)").isEqualTo("text/event-stream");
            assertThat(r.bodyUtf8()).isEqualTo("data: {\"delta\":\"a\"}\n\ndata: {\"delta\":\"b\"}\n\ndata: [DONE]\n\n");
        }
    }

    @Test
    void gzipBytesKeepTheirContentEncoding() throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(buf)) {
            gz.write("{\"choices\":[]}".getBytes(StandardCharsets.UTF_8));
        }
        byte[] gzip = buf.toByteArray();
        upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json"), new HttpHeader("Content-Encoding", "gzip")), gzip);
        RouteConf route = RouteConf.builder("stream-gzip").postResp(new ConfEntry("test-respond", "{\"response_body\":true}")).build();
        GatewayResult r = driver.call(route, ClientRequest.builder("GET", "/g").header("Accept-Encoding", "gzip").build(), upstream);
        assertThat(r.body()).isEqualTo(gzip);
        assertThat(r.header("Content-Encoding")).as("P5: APISIX alone drops it and the client cannot decode").isEqualTo("gzip");
        assertThat(r.header("Content-Type")).isEqualTo("application/json");
    }
}

package io.inferencepam.record;

import static io.inferencepam.record.ArchiveSupport.archived;
import static io.inferencepam.record.ArchiveSupport.pamctl;
import static io.inferencepam.record.ArchiveSupport.positions;
import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.HttpHeader;
import io.inferencepam.pam.record.archive.ArchiveDirectory;
import io.inferencepam.pam.record.chain.StoredEntry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Chat-completion-sized calls (a 1 KB prompt, a 1.1 KB completion of varied words) through a real runner, archived:
 * every entry archived and verified, and the sizing figures of docs/plugins/pam-record.md printed
 * (stream memory, archived bytes, gzip bytes, entries per call). Prints; asserts no figure.
 */
class PamRecordArchiveSizingE2ETest {

    private static String words(java.util.Random rnd, String[] vocabulary, int chars) {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < chars) {
            sb.append(vocabulary[rnd.nextInt(vocabulary.length)]).append(rnd.nextInt(12) == 0 ? ". " : " ");
        }
        return sb.toString();
    }

    @Test
    void typicalCallsArchiveAndVerifyAndPrintTheirSize() throws Exception {
        try (AuditFixture fx = new AuditFixture(Map.of(), true)) {
            // varied text (random words from a 2,000-word vocabulary): compresses about like prose, unlike one repeated prompt
            java.util.Random rnd = new java.util.Random(14);
            String[] vocabulary = new String[2000];
            for (int w = 0; w < vocabulary.length; w++) {
                StringBuilder word = new StringBuilder();
                for (int c = 3 + rnd.nextInt(7); c > 0; c--) {
                    word.append((char) ('a' + rnd.nextInt(26)));
                }
                vocabulary[w] = word.toString();
            }
            int calls = 300;
            String last = null;
            for (int i = 0; i < calls; i++) {
                String completion = "{\"id\":\"chatcmpl-" + i + "\",\"object\":\"chat.completion\",\"model\":\"llama-3-70b\","
                        + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"" + words(rnd, vocabulary, 1100)
                        + "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":260,\"completion_tokens\":280,\"total_tokens\":540}}";
                fx.upstream.respondWith(200, List.of(new HttpHeader("Content-Type", "application/json")), completion);
                String body = "{\"model\":\"llama-3-70b\",\"messages\":[{\"role\":\"system\",\"content\":\"You are helpful.\"},"
                        + "{\"role\":\"user\",\"content\":\"" + words(rnd, vocabulary, 1000) + "\"}],\"max_tokens\":512,\"temperature\":0.2}";
                GatewayResult r = fx.driver.call(ArchiveSupport.ROUTE, ClientRequest.builder("POST", "/v1/chat/completions")
                        .header("Authorization", "Bearer client-token-" + i).header("Content-Type", "application/json")
                        .body(body).remoteAddr("10.0.0.9").build(), fx.upstream);
                last = r.requestId();
            }
            fx.record(last);
            fx.runner.stop();
            List<String> stored = positions(fx.entries());
            long entries = stored.size();
            Object memory = fx.jedis.sendCommand(redis.clients.jedis.Protocol.Command.MEMORY, "USAGE", AuditFixture.STREAM, "SAMPLES", "0");

            Path dir = Files.createTempDirectory("pam-archive-sizing");
            assertThat(pamctl("audit", "archive", "--once", "--force", "--dir", dir.toString(), "--redis", fx.redis.url(),
                    "--signing-key-file", ArchiveSupport.signingKeyFile(fx)).exit()).isZero();
            List<StoredEntry> archivedEntries = archived(dir);
            assertThat(positions(archivedEntries)).containsExactlyElementsOf(stored);
            assertThat(pamctl("audit", "verify", "--file", dir.toString(), "--public-key", fx.keys[1]).exit()).isZero();

            long lineBytes = 0;
            for (StoredEntry e : archivedEntries) {
                lineBytes += e.json().getBytes(StandardCharsets.UTF_8).length;
            }
            long gz = 0;
            for (ArchiveDirectory.Segment s : new ArchiveDirectory(dir).segments()) {
                gz += Files.size(s.path());
            }
            System.out.printf("SIZING calls=%d entries=%d entries/call=%.3f redis_bytes/entry=%d entry_bytes/entry=%d "
                            + "gzip_bytes/entry=%d gzip_bytes/call=%d ratio=%.2f%n", calls, entries, entries / (double) calls,
                    ((Long) memory) / entries, lineBytes / entries, gz / entries, gz / calls, lineBytes / (double) gz);
        }
    }
}

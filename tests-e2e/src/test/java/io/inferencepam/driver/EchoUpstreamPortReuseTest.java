package io.inferencepam.driver;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A driver call finds its own upstream request even when earlier and later connections came from
 * the same client port (the OS reuses the ports of closed connections; matching by port alone gave
 * a later call the earlier call's request, a flake seen in ConcurrencyTest).
 */
class EchoUpstreamPortReuseTest {
    @Test
    void aReusedClientPortIsMatchedToTheLaterConnectionOnly() throws Exception {
        try (EchoUpstream upstream = EchoUpstream.start()) {
            int port;
            try (Socket first = new Socket()) {
                first.setReuseAddress(true);
                first.bind(new InetSocketAddress("127.0.0.1", 0));
                port = first.getLocalPort();
                exchange(first, upstream, "/first");
            }
            long beforeSecond = System.nanoTime();
            try (Socket second = new Socket()) {
                second.setReuseAddress(true);
                second.bind(new InetSocketAddress("127.0.0.1", port)); // the server closed first: no TIME_WAIT here
                exchange(second, upstream, "/second");
            }
            long afterSecond = System.nanoTime();
            try (Socket third = new Socket()) { // the port handed out again after this call closed
                third.setReuseAddress(true);
                third.bind(new InetSocketAddress("127.0.0.1", port));
                exchange(third, upstream, "/third");
            }
            List<UpstreamRequest> got = upstream.requestsFrom(List.of(new EchoUpstream.ClientConnection(port, beforeSecond, afterSecond)));
            assertThat(got).extracting(UpstreamRequest::target).containsExactly("/second");
            // a window that also holds an earlier connection from the port: the last one in it is ours
            assertThat(upstream.requestsFrom(List.of(new EchoUpstream.ClientConnection(port, 0, afterSecond))))
                    .extracting(UpstreamRequest::target).containsExactly("/second");
        }
    }

    private static void exchange(Socket s, EchoUpstream upstream, String target) throws Exception {
        s.connect(new InetSocketAddress(upstream.host(), upstream.port()), 5000);
        s.setSoTimeout(5000);
        OutputStream out = s.getOutputStream();
        out.write(("GET " + target + " HTTP/1.1\r\nHost: up\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        in.readAllBytes(); // until the server closes
    }
}

package io.inferencepam.bench.runner;

import io.inferencepam.runner.protocol.A6Encoder;
import io.inferencepam.runner.protocol.OutboundFrame;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The physical floor of the load benchmark: a Unix-socket server with the runner's framing that
 * does no decoding and no work. It runs as its own JVM (like the runner) and listens on two
 * sockets:
 * <ul>
 *   <li>{@code <dir>/floor-headers.sock}: every frame is answered with the runner's header-only
 *       reply (an {@code HTTPReqCall.Resp} with action NONE, built by the runtime's own encoder, so
 *       the same size and shape as the runner's reply);</li>
 *   <li>{@code <dir>/floor-body.sock}: an {@code HTTP_REQ_CALL} frame is answered with the
 *       runner's ReqBody question, an {@code EXTRA_INFO} frame (the body) with the final reply:
 *       the same number of round trips and bytes as the runner's body path.</li>
 * </ul>
 * One blocking thread per connection: reads a whole frame (into a reused buffer), writes the
 * pre-encoded reply. Usage: {@code FloorServer <dir>}.
 */
public final class FloorServer {
    private static final int MAX_FRAME = 1 << 20;

    private FloorServer() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        // Non-zero id: FlatBuffers omits default-valued fields, and the runner echoes the (non-zero) call id.
        ByteBuffer reply = frame(A6Encoder.requestNone(1));
        ByteBuffer question = frame(A6Encoder.requestBodyQuestion());
        Thread h = serve(dir.resolve("floor-headers.sock"), reply, reply);
        Thread b = serve(dir.resolve("floor-body.sock"), question, reply);
        h.join();
        b.join();
    }

    static ByteBuffer frame(OutboundFrame f) {
        ByteBuffer p = f.payload().duplicate();
        ByteBuffer out = ByteBuffer.allocate(4 + p.remaining());
        out.put(f.type()).put((byte) (p.remaining() >>> 16)).put((byte) (p.remaining() >>> 8)).put((byte) p.remaining());
        out.put(p).flip();
        return out;
    }

    /** Serves {@code socket}: a call frame gets {@code onCall}, an ExtraInfo frame gets {@code onInfo}. */
    private static Thread serve(Path socket, ByteBuffer onCall, ByteBuffer onInfo) throws IOException {
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket), 1024);
        Thread t = new Thread(() -> {
            while (true) {
                try {
                    SocketChannel ch = server.accept();
                    Thread c = new Thread(() -> connection(ch, onCall, onInfo), "floor-conn");
                    c.setDaemon(true);
                    c.start();
                } catch (IOException e) {
                    return;
                }
            }
        }, "floor-accept-" + socket.getFileName());
        t.start();
        return t;
    }

    private static void connection(SocketChannel ch, ByteBuffer onCall, ByteBuffer onInfo) {
        // Each connection gets its own direct copies: writes from heap buffers would add a JDK copy.
        ByteBuffer call = ClientFrames.direct(bytes(onCall));
        ByteBuffer info = ClientFrames.direct(bytes(onInfo));
        try (FrameChannel fc = new FrameChannel(ch, MAX_FRAME)) {
            while (true) {
                int type = fc.read();
                fc.write(type == ClientFrames.EXTRA_INFO ? info : call);
            }
        } catch (IOException e) {
            // client closed: end of this connection
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }
}

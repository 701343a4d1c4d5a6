package io.inferencepam.bench.runner;

import io.inferencepam.runner.protocol.A6Encoder;
import io.inferencepam.runner.protocol.OutboundFrame;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentLinkedQueue;

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
 * Two server models, so that the floor is the cheapest server for either client model of the
 * load driver: one blocking thread per connection (reads a whole frame into a reused buffer,
 * writes the pre-encoded reply), or {@code loops} event-loop threads, each a {@link Selector} over
 * non-blocking connections that answers every complete frame on the spot.
 * Usage: {@code FloorServer <dir> [loops]} (no loops or 0: a thread per connection).
 */
public final class FloorServer {
    private static final int MAX_FRAME = 1 << 20;

    private FloorServer() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int loops = args.length > 1 ? Integer.parseInt(args[1]) : 0;
        // Non-zero id: FlatBuffers omits default-valued fields, and the runner echoes the (non-zero) call id.
        ByteBuffer reply = frame(A6Encoder.requestNone(1));
        ByteBuffer question = frame(A6Encoder.requestBodyQuestion());
        Thread h = serve(dir.resolve("floor-headers.sock"), reply, reply, loops);
        Thread b = serve(dir.resolve("floor-body.sock"), question, reply, loops);
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
    private static Thread serve(Path socket, ByteBuffer onCall, ByteBuffer onInfo, int loops) throws IOException {
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket), 1024);
        EventLoop[] eventLoops = new EventLoop[loops];
        for (int i = 0; i < loops; i++) {
            eventLoops[i] = new EventLoop(Selector.open(), onCall, onInfo);
            Thread l = new Thread(eventLoops[i], "floor-loop-" + i);
            l.setDaemon(true);
            l.start();
        }
        Thread t = new Thread(() -> {
            for (int n = 0; ; n++) {
                try {
                    SocketChannel ch = server.accept();
                    if (loops > 0) {
                        eventLoops[n % loops].add(ch);
                        continue;
                    }
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

    /** Non-blocking connections on one selector; every complete frame is answered at once. */
    private static final class EventLoop implements Runnable {
        private final Selector selector;
        private final ByteBuffer onCall;
        private final ByteBuffer onInfo;
        private final ConcurrentLinkedQueue<SocketChannel> added = new ConcurrentLinkedQueue<>();

        EventLoop(Selector selector, ByteBuffer onCall, ByteBuffer onInfo) {
            this.selector = selector;
            this.onCall = onCall;
            this.onInfo = onInfo;
        }

        void add(SocketChannel ch) {
            added.add(ch);
            selector.wakeup();
        }

        @Override
        public void run() {
            while (true) {
                try {
                    selector.select();
                    for (SocketChannel ch; (ch = added.poll()) != null; ) {
                        ch.configureBlocking(false);
                        ByteBuffer in = ByteBuffer.allocateDirect(MAX_FRAME + 4);
                        ch.register(selector, SelectionKey.OP_READ, new ByteBuffer[] {in,
                                ClientFrames.direct(bytes(onCall)), ClientFrames.direct(bytes(onInfo))});
                    }
                    for (var it = selector.selectedKeys().iterator(); it.hasNext(); ) {
                        SelectionKey key = it.next();
                        it.remove();
                        boolean open;
                        try {
                            open = answer(key);
                        } catch (IOException e) {
                            open = false; // this client reset its connection; the others carry on
                        }
                        if (!open) {
                            key.cancel();
                            key.channel().close();
                        }
                    }
                } catch (IOException e) {
                    return;
                }
            }
        }

        /** Reads what is there and answers each complete frame; false when the client has gone. */
        private static boolean answer(SelectionKey key) throws IOException {
            SocketChannel ch = (SocketChannel) key.channel();
            ByteBuffer[] bufs = (ByteBuffer[]) key.attachment();
            ByteBuffer in = bufs[0];
            if (ch.read(in) < 0) {
                return false;
            }
            while (in.position() >= 4) {
                int len = ((in.get(1) & 0xFF) << 16) | ((in.get(2) & 0xFF) << 8) | (in.get(3) & 0xFF);
                if (in.position() < 4 + len) {
                    break;
                }
                ByteBuffer out = (in.get(0) & 0xFF) == ClientFrames.EXTRA_INFO ? bufs[2] : bufs[1];
                in.flip().position(4 + len);
                in.compact();
                out.rewind();
                while (out.hasRemaining()) {
                    ch.write(out); // a reply of a few dozen bytes: the socket buffer takes it at once
                }
            }
            return true;
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        byte[] out = new byte[d.remaining()];
        d.get(out);
        return out;
    }
}

package io.inferencepam.bench.runner;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * A blocking Unix-socket connection that reads whole frames (1-byte type, 3-byte big-endian
 * length, payload) into one reusable direct buffer: no allocation per frame, on either side of
 * the benchmark. Used by the load driver's clients and by the floor server.
 */
public final class FrameChannel implements Closeable {
    private final SocketChannel ch;
    private final ByteBuffer in;
    private int payloadStart;
    private int payloadLength;

    FrameChannel(SocketChannel ch, int maxFrame) {
        this.ch = ch;
        this.in = ByteBuffer.allocateDirect(maxFrame + 4);
        in.limit(0);
    }

    public static FrameChannel connect(Path socket, int maxFrame) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return new FrameChannel(ch, maxFrame);
    }

    /** Writes a whole frame; {@code frame} is rewound first and left consumed. */
    public void write(ByteBuffer frame) throws IOException {
        frame.rewind();
        while (frame.hasRemaining()) {
            ch.write(frame);
        }
    }

    /** Reads the next frame; returns its type. The payload is at {@link #payload()} until the next read. */
    public int read() throws IOException {
        // in: [position, limit) holds unread bytes; the previous payload is consumed.
        fill(4);
        int type = in.get(in.position()) & 0xFF;
        int len = ((in.get(in.position() + 1) & 0xFF) << 16) | ((in.get(in.position() + 2) & 0xFF) << 8)
                | (in.get(in.position() + 3) & 0xFF);
        if (len + 4 > in.capacity()) {
            throw new IOException("frame of " + len + " bytes is larger than this channel's buffer");
        }
        fill(4 + len);
        payloadStart = in.position() + 4;
        payloadLength = len;
        in.position(payloadStart + len);
        return type;
    }

    public int payloadLength() {
        return payloadLength;
    }

    /** A view of the last payload (allocates; for verification, not for the load loop). */
    public ByteBuffer payload() {
        ByteBuffer d = in.duplicate();
        d.limit(payloadStart + payloadLength).position(payloadStart);
        return d.slice().order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    private void fill(int need) throws IOException {
        if (in.remaining() >= need) {
            return;
        }
        if (in.position() > 0) {
            in.compact().flip();
        }
        int pos = in.position();
        int lim = in.limit();
        in.position(lim).limit(in.capacity());
        while (in.position() - pos < need) {
            if (ch.read(in) < 0) {
                throw new EOFException("peer closed the connection");
            }
        }
        in.limit(in.position()).position(pos);
    }

    /** The socket, for a client that multiplexes connections (it takes over all reading). */
    SocketChannel channel() {
        return ch;
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}

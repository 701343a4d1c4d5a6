package io.inferencepam.driver;

import java.io.EOFException;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One cosocket to the runner: {@code [type:1][length:3 big-endian][payload]} frames over a Unix
 * socket, with APISIX's per-operation send/read timeouts ({@code sock:settimeouts(1000, 60000,
 * 60000)} in {@code ext-plugin/init.lua}; configurable here so tests need not wait 60 s).
 */
public final class RunnerConnection implements AutoCloseable {
    /** A whole frame. */
    public record Frame(int type, byte[] payload) {
    }

    /** The read or send timed out (APISIX: "timeout" → 503). */
    public static final class TimeoutException extends IOException {
        TimeoutException(String what) {
            super(what + ": timeout");
        }
    }

    final int number;

    private final SocketChannel channel;
    private final Selector selector;
    private boolean broken;

    private RunnerConnection(int number, SocketChannel channel, Selector selector) {
        this.number = number;
        this.channel = channel;
        this.selector = selector;
    }

    /** A raw connection for tests that speak the protocol frame by frame. */
    public static RunnerConnection open(Path socket) throws IOException {
        return open(socket, 0);
    }

    static RunnerConnection open(Path socket, int number) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.configureBlocking(false);
            Selector sel = Selector.open();
            ch.register(sel, 0);
            return new RunnerConnection(number, ch, sel);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    boolean usable() {
        return !broken && channel.isOpen();
    }

    /**
     * Whether a pooled connection is still good: nginx drops an idle keepalive connection when the
     * peer closes it or sends unsolicited data (this is how APISIX survives a runner restart, R7c).
     */
    boolean idleCheck() {
        if (!usable()) {
            return false;
        }
        try {
            ByteBuffer one = ByteBuffer.allocate(1);
            int n = channel.read(one);
            if (n != 0) {
                broken = true;
            }
        } catch (IOException e) {
            broken = true;
        }
        return !broken;
    }

    /** Whether the connection can still be used (not closed, no failed read or send). */
    public boolean usableForTest() {
        return idleCheck();
    }

    /** Raw bytes, for malformed-frame tests. */
    public void sendRaw(byte[] bytes, Duration timeout) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (buf.hasRemaining()) {
            if (channel.write(buf) == 0) {
                await(SelectionKey.OP_WRITE, deadline, "send");
            }
        }
    }

    public void send(int type, byte[] payload, Duration timeout) throws IOException {
        if (payload.length > A6Client.MAX_PAYLOAD) {
            broken = true;
            throw new IOException("the max length of data is " + A6Client.MAX_PAYLOAD + " but got " + payload.length);
        }
        ByteBuffer buf = ByteBuffer.allocate(4 + payload.length);
        buf.put((byte) type).put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8)).put((byte) payload.length);
        buf.put(payload).flip();
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            while (buf.hasRemaining()) {
                if (channel.write(buf) == 0) {
                    await(SelectionKey.OP_WRITE, deadline, "send");
                }
            }
        } catch (IOException e) {
            broken = true;
            throw e;
        }
    }

    public Frame read(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            ByteBuffer header = ByteBuffer.allocate(4);
            fill(header, deadline);
            int type = header.get(0) & 0xFF;
            int len = ((header.get(1) & 0xFF) << 16) | ((header.get(2) & 0xFF) << 8) | (header.get(3) & 0xFF);
            ByteBuffer body = ByteBuffer.allocate(len);
            fill(body, deadline);
            return new Frame(type, body.array());
        } catch (IOException e) {
            broken = true;
            throw e;
        }
    }

    private void fill(ByteBuffer buf, long deadline) throws IOException {
        while (buf.hasRemaining()) {
            int n = channel.read(buf);
            if (n < 0) {
                throw new EOFException("closed");
            }
            if (n == 0) {
                await(SelectionKey.OP_READ, deadline, "receive");
            }
        }
    }

    private void await(int op, long deadline, String what) throws IOException {
        SelectionKey key = channel.keyFor(selector);
        key.interestOps(op);
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new TimeoutException(what);
        }
        int ready = selector.select(Math.max(1, left / 1_000_000));
        selector.selectedKeys().clear();
        key.interestOps(0);
        if (ready == 0 && System.nanoTime() >= deadline) {
            throw new TimeoutException(what);
        }
    }

    /**
     * Whether bytes from the runner are already waiting to be read, without reading them: a frame
     * the runner sent before it had the driver's next frame.
     */
    public boolean unreadNow() throws IOException {
        SelectionKey key = channel.keyFor(selector);
        key.interestOps(SelectionKey.OP_READ);
        try {
            return selector.selectNow() > 0;
        } finally {
            selector.selectedKeys().clear();
            key.interestOps(0);
        }
    }

    /** Marks the connection unusable (it will be closed instead of pooled). */
    public void poison() {
        broken = true;
    }

    @Override
    public void close() {
        try {
            selector.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}

package io.inferencepam.bench.runner;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import org.HdrHistogram.Histogram;

/**
 * The load driver's second client model: K connections multiplexed over a few event-loop
 * threads (a {@link Selector} each, non-blocking sockets, interest in reads only while a reply is
 * awaited), the way APISIX's nginx workers hold their ext-plugin connections. The first model (a
 * blocking thread per connection) costs the client a thread wake-up per frame, and a blocking
 * reader on a Unix socket is also woken when the server merely reads the request (the kernel's
 * write-space wake-up does not look at what the sleeper waits for), which an epoll reader
 * interested only in input does not see.
 *
 * <p>Each connection runs the same closed loop as the blocking client: send the call; if the
 * server asks for the body, send the body answer; read the reply; check type and exact size;
 * send the next call.
 */
final class EventLoopClients {
    /** Checks a received frame; throws to fail the run. */
    interface Expect {
        void question(int type, int length) throws IOException;

        void reply(int type, int length) throws IOException;
    }

    private EventLoopClients() {
    }

    /** Values of the phase supplier, as in the load driver. */
    static final int MEASURE = 1;
    static final int STOP = 2;

    /**
     * Starts {@code loops} threads that run {@code channels} (connected, still blocking) until
     * {@code phase} says {@link #STOP}; each thread {@code l} then has put the calls it completed
     * while the phase said {@link #MEASURE} in {@code counts[l]}, their latencies in {@code hists[l]}.
     */
    static Thread[] start(List<SocketChannel> channels, int loops, ByteBuffer request, ByteBuffer answer, Expect expect,
                          IntSupplier phase, Histogram[] hists, long[] counts, java.util.function.Consumer<Throwable> onFailure) {
        Thread[] threads = new Thread[loops];
        for (int l = 0; l < loops; l++) {
            int loop = l;
            hists[l] = new Histogram(TimeUnit.SECONDS.toNanos(30), 3);
            threads[l] = new Thread(() -> {
                try (Selector selector = Selector.open()) {
                    for (int i = loop; i < channels.size(); i += loops) {
                        SocketChannel ch = channels.get(i);
                        ch.configureBlocking(false);
                        Conn c = new Conn(ch, request.duplicate(), answer == null ? null : answer.duplicate());
                        c.key = ch.register(selector, 0, c);
                        c.send(c.request);
                    }
                    counts[loop] = run(selector, expect, phase, hists[loop]);
                } catch (Throwable e) {
                    onFailure.accept(e);
                }
            }, "load-loop-" + l);
            threads[l].start();
        }
        return threads;
    }

    private static long run(Selector selector, Expect expect, IntSupplier phase, Histogram hist) throws IOException {
        long measured = 0;
        while (true) {
            int p = phase.getAsInt();
            if (p == STOP) {
                return measured;
            }
            selector.select(100);
            for (var it = selector.selectedKeys().iterator(); it.hasNext(); ) {
                SelectionKey key = it.next();
                it.remove();
                Conn c = (Conn) key.attachment();
                if (key.isWritable()) {
                    c.flush();
                }
                if (key.isReadable() && c.readFrame()) {
                    if (c.answer != null && !c.answered) {
                        expect.question(c.type, c.length);
                        c.answered = true;
                        c.send(c.answer);
                        continue;
                    }
                    expect.reply(c.type, c.length);
                    if (p == MEASURE) {
                        hist.recordValue(System.nanoTime() - c.start);
                        measured++;
                    }
                    c.answered = false;
                    c.send(c.request);
                }
            }
        }
    }

    /** One connection: what is being written, and the frame being read. */
    private static final class Conn {
        final SocketChannel ch;
        final ByteBuffer request;
        final ByteBuffer answer;
        final ByteBuffer in = ByteBuffer.allocateDirect(64 * 1024);
        SelectionKey key;
        ByteBuffer out;
        boolean answered;
        long start;
        int type;
        int length;

        Conn(SocketChannel ch, ByteBuffer request, ByteBuffer answer) {
            this.ch = ch;
            this.request = request;
            this.answer = answer;
        }

        void send(ByteBuffer frame) throws IOException {
            if (frame == request) {
                start = System.nanoTime();
            }
            frame.rewind();
            out = frame;
            flush();
        }

        /** Writes what the socket takes; waits for writability only if a frame is left unfinished. */
        void flush() throws IOException {
            ch.write(out);
            key.interestOps(out.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
        }

        /** Reads what is there; true once a whole frame is in (its type and length are then set). */
        boolean readFrame() throws IOException {
            if (ch.read(in) < 0) {
                throw new EOFException("peer closed the connection");
            }
            if (in.position() < 4) {
                return false;
            }
            int len = ((in.get(1) & 0xFF) << 16) | ((in.get(2) & 0xFF) << 8) | (in.get(3) & 0xFF);
            if (len + 4 > in.capacity()) {
                throw new IOException("frame of " + len + " bytes is larger than the client's buffer");
            }
            if (in.position() < 4 + len) {
                return false;
            }
            if (in.position() > 4 + len) {
                throw new IOException("more than one frame in flight on a connection");
            }
            type = in.get(0) & 0xFF;
            length = len;
            in.clear();
            return true;
        }
    }
}

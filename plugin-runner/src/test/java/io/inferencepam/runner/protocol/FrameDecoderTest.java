package io.inferencepam.runner.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.TooLongFrameException;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class FrameDecoderTest {

    private static ByteBuf frame(int type, byte[] payload) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte(type).writeMedium(payload.length).writeBytes(payload);
        return b;
    }

    @Test
    void splitsBackToBackFramesAndReleasesNothingTwice() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024, 1000));
        ByteBuf both = Unpooled.buffer();
        both.writeBytes(frame(2, new byte[] {1, 2, 3}));
        both.writeBytes(frame(3, new byte[0]));
        ch.writeInbound(both);
        Frame a = ch.readInbound();
        Frame b = ch.readInbound();
        assertThat(a.type()).isEqualTo((byte) 2);
        assertThat(a.payload().readableBytes()).isEqualTo(3);
        assertThat(b.type()).isEqualTo((byte) 3);
        assertThat(b.payload().readableBytes()).isZero();
        assertThat(a.release()).isTrue();
        assertThat(b.release()).isTrue();
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    @Test
    void waitsForTheRestOfAFrameDeliveredByteByByte() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024, 1000));
        ByteBuf whole = frame(1, "hello".getBytes());
        while (whole.isReadable()) {
            assertThat((Object) ch.readInbound()).isNull();
            ch.writeInbound(whole.readRetainedSlice(1));
        }
        whole.release();
        Frame f = ch.readInbound();
        assertThat(f.payload().toString(java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("hello");
        f.release();
    }

    @Test
    void refusesALengthAboveTheLimit() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(16, 1000));
        ByteBuf b = Unpooled.buffer().writeByte(2).writeMedium(17);
        assertThatThrownBy(() -> ch.writeInbound(b)).isInstanceOf(TooLongFrameException.class)
                .hasMessageContaining("exceeds 16");
    }

    @Test
    void anIncompleteFrameTimesOut() throws Exception {
        // writeInbound runs the channel's due timers itself: a timeout shorter than a scheduling
        // stall of the test machine would fire inside it (seen on a loaded box with 10 ms)
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024, 300));
        ch.writeInbound(Unpooled.buffer().writeByte(2).writeMedium(100).writeByte(1));
        Thread.sleep(500);
        ch.runPendingTasks();
        assertThatThrownBy(ch::checkException).isInstanceOf(FrameDecoder.TruncatedFrameException.class);
    }

    /** Any byte soup either yields frames or an error; it never loses track of buffers. */
    @Property(tries = 300)
    void arbitraryBytesNeverLeakOrCrash(@ForAll @Size(max = 300) byte[] bytes, @ForAll @IntRange(min = 1, max = 64) int chunk) {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(128, 1000));
        java.util.List<io.netty.buffer.ByteBuf> inputs = new java.util.ArrayList<>();
        try {
            for (int i = 0; i < bytes.length; i += chunk) {
                int n = Math.min(chunk, bytes.length - i);
                io.netty.buffer.ByteBuf in = Unpooled.wrappedBuffer(bytes, i, n);
                inputs.add(in);
                ch.writeInbound(in);
            }
        } catch (TooLongFrameException expected) {
            // oversized length: the connection handler answers RPC_ERROR and closes
        }
        Object o;
        while ((o = ch.readInbound()) != null) {
            Frame f = (Frame) o;
            assertThat(f.payload().readableBytes()).isLessThanOrEqualTo(128);
            assertThat(f.release()).isTrue();
        }
        ch.finishAndReleaseAll();
        assertThat(inputs).allSatisfy(b -> assertThat(b.refCnt()).as("input buffer released").isZero());
    }
}

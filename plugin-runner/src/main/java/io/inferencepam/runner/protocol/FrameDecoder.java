package io.inferencepam.runner.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.TooLongFrameException;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Splits the byte stream into frames: 1-byte type, 3-byte big-endian length, payload.
 *
 * <p>Ownership: each emitted {@link Frame} holds a retained slice of the cumulation buffer; the
 * next handler releases it. An oversized length fails with {@link TooLongFrameException} (the
 * connection handler answers RPC_ERROR and closes). A frame that stays incomplete longer than
 * {@code partialFrameTimeoutMillis} closes the connection, so a truncated frame never leaves a
 * connection stuck.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    private static final int HEADER = 4;
    private final int maxPayload;
    private final long partialFrameTimeoutMillis;
    private ScheduledFuture<?> partialTimer;

    public FrameDecoder(int maxPayload, long partialFrameTimeoutMillis) {
        if (maxPayload <= 0 || maxPayload > RpcType.MAX_PAYLOAD) {
            throw new IllegalArgumentException("maxPayload out of range: " + maxPayload);
        }
        this.maxPayload = maxPayload;
        this.partialFrameTimeoutMillis = partialFrameTimeoutMillis;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        while (in.readableBytes() >= HEADER) {
            int start = in.readerIndex();
            byte type = in.getByte(start);
            int length = in.getUnsignedMedium(start + 1);
            if (length > maxPayload) {
                in.skipBytes(in.readableBytes());
                throw new TooLongFrameException("frame of " + length + " bytes exceeds " + maxPayload);
            }
            if (in.readableBytes() < HEADER + length) {
                break;
            }
            in.skipBytes(HEADER);
            out.add(new Frame(type, in.readRetainedSlice(length)));
        }
        armPartialTimer(ctx, in.isReadable());
    }

    private void armPartialTimer(ChannelHandlerContext ctx, boolean partial) {
        if (!partial) {
            cancelTimer();
        } else if (partialTimer == null) {
            partialTimer = ctx.executor().schedule(() -> {
                partialTimer = null;
                ctx.fireExceptionCaught(new TruncatedFrameException(partialFrameTimeoutMillis));
            }, partialFrameTimeoutMillis, TimeUnit.MILLISECONDS);
        }
    }

    private void cancelTimer() {
        if (partialTimer != null) {
            partialTimer.cancel(false);
            partialTimer = null;
        }
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        cancelTimer();
    }

    /** The peer sent part of a frame and nothing more for too long. */
    public static final class TruncatedFrameException extends Exception {
        TruncatedFrameException(long millis) {
            super("incomplete frame for " + millis + " ms", null, false, false);
        }
    }
}

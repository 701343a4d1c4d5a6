package io.inferencepam.runner.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;
import io.netty.handler.codec.EncoderException;

/** Writes {@link OutboundFrame}s with the 4-byte header. */
public final class FrameEncoder extends MessageToByteEncoder<OutboundFrame> {
    @Override
    protected void encode(ChannelHandlerContext ctx, OutboundFrame msg, ByteBuf out) {
        int length = msg.payload().remaining();
        if (length > RpcType.MAX_PAYLOAD) {
            // A6Encoder never builds such a frame (the dispatcher answers a safe 503 instead);
            // this guard only keeps a wrong length off the wire.
            throw new EncoderException("reply of " + length + " bytes does not fit a frame");
        }
        out.ensureWritable(4 + length);
        out.writeByte(msg.type());
        out.writeMedium(length);
        out.writeBytes(msg.payload().duplicate());
    }

    @Override
    protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, OutboundFrame msg, boolean preferDirect) {
        int size = 4 + msg.payload().remaining();
        return preferDirect ? ctx.alloc().ioBuffer(size) : ctx.alloc().heapBuffer(size);
    }
}

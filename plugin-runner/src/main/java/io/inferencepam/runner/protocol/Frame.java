package io.inferencepam.runner.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;
import io.netty.util.AbstractReferenceCounted;

/**
 * One inbound frame. Owns {@code payload}: whoever consumes the frame releases it (once), which
 * releases the payload.
 */
public final class Frame extends AbstractReferenceCounted {
    private final byte type;
    private final ByteBuf payload;

    public Frame(byte type, ByteBuf payload) {
        this.type = type;
        this.payload = payload;
    }

    public byte type() {
        return type;
    }

    public ByteBuf payload() {
        return payload;
    }

    @Override
    protected void deallocate() {
        payload.release();
    }

    @Override
    public ReferenceCounted touch(Object hint) {
        payload.touch(hint);
        return this;
    }

    @Override
    public String toString() {
        return RpcType.name(type) + "[" + payload.readableBytes() + " bytes]";
    }
}

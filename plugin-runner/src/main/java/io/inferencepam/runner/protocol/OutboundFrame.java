package io.inferencepam.runner.protocol;

import java.nio.ByteBuffer;

/** A reply ready to be framed: {@code payload} is a finished FlatBuffer (position..limit). */
public record OutboundFrame(byte type, ByteBuffer payload) {
}

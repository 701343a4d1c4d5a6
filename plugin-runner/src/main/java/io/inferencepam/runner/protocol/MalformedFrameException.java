package io.inferencepam.runner.protocol;

/** A frame whose payload is not the message its type promises. The message never holds payload bytes. */
public final class MalformedFrameException extends Exception {
    public MalformedFrameException(String message) {
        super(message, null, false, false);
    }
}

package io.inferencepam.pam.mask;

/**
 * The non-detector part of a pam-mask conf.
 *
 * @param maxBodyBytes    largest body (encoded and decoded) that is inspected; larger fails closed
 * @param countHeader     add {@code x-pam-masked: email=2,card=1} to masked responses
 * @param blockStatus     status of the error that replaces a response when a {@code block} detector fires
 * @param passUnscannable let bodies that are not text (images, audio) through unscanned instead of failing closed
 */
public record MaskSettings(int maxBodyBytes, boolean countHeader, int blockStatus, boolean passUnscannable) {
}

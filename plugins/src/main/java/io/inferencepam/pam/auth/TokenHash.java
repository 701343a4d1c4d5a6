package io.inferencepam.pam.auth;

import java.nio.ByteBuffer;

/** SHA-256 of a token: the verified-token cache never keys (or keeps) the bearer token itself. */
record TokenHash(long a, long b, long c, long d) {
    static TokenHash of(byte[] sha256) {
        ByteBuffer bb = ByteBuffer.wrap(sha256);
        return new TokenHash(bb.getLong(), bb.getLong(), bb.getLong(), bb.getLong());
    }
}

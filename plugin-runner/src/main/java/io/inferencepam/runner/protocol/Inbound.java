package io.inferencepam.runner.protocol;

import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import java.util.List;
import java.util.Optional;

/** Decoded APISIX→runner messages: plain values, no reference to the frame buffer. */
public sealed interface Inbound {

    record PrepareConf(String key, List<Header> conf) implements Inbound {
    }

    record RequestCall(long id, long confToken, String method, String path, Headers args, Headers headers,
                       String sourceIp) implements Inbound {
    }

    record ResponseCall(long id, long confToken, int status, Headers headers) implements Inbound {
    }

    /** An ExtraInfo answer; {@code result} is empty when APISIX sent no result field (missing var). */
    record ExtraInfoAnswer(Optional<byte[]> result) implements Inbound {
    }
}

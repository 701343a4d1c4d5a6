package io.inferencepam.runner.protocol;

import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import java.util.List;
import java.util.Optional;

/** Decoded APISIX→runner messages: plain values, no reference to the frame buffer. */
public sealed interface Inbound {

    record PrepareConf(String key, List<Header> conf) implements Inbound {
    }

    /**
     * @param headerEntries how many entries the frame's header vector declared (nameless ones
     *                      included, which {@code headers} leaves out): what tells whether APISIX
     *                      may have cut the list at its 100-header cap
     * @param sourceIpBytes length of the frame's {@code src_ip} (4 for IPv4, 16 for IPv6, 0 if absent)
     */
    record RequestCall(long id, long confToken, String method, String path, Headers args, Headers headers,
                       String sourceIp, int headerEntries, int sourceIpBytes) implements Inbound {
    }

    record ResponseCall(long id, long confToken, int status, Headers headers) implements Inbound {
    }

    /** An ExtraInfo answer; {@code result} is empty when APISIX sent no result field (missing var). */
    record ExtraInfoAnswer(Optional<byte[]> result) implements Inbound {
    }
}

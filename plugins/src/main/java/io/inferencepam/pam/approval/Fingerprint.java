package io.inferencepam.pam.approval;

import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;

/**
 * What makes two calls "the same call" for an approval: SHA-256 over route, method, path, query
 * arguments, model and the exact body bytes, each part length-prefixed so no two different calls
 * share an encoding. The body is hashed as sent, not as parsed JSON: a canonical form would make
 * bodies that model servers read differently (duplicate keys, number spellings) share one
 * approval. An SDK sends the same bytes for the same call, so a repeat matches.
 *
 * <p>Query arguments are hashed sorted by name, repeated names in the order they came: APISIX hands
 * them over in Lua hash order, which is not stable between runs (conformance recordings), so after a
 * reload the identical call would otherwise get a new fingerprint. The relative order of one name's
 * values is the query's own and servers read it (the first or the last wins), so it stays part of the
 * call. Arguments already in name order hash as before the sort (same version tag), so only pending
 * approvals of calls whose arguments came unsorted stop matching after the upgrade.
 */
final class Fingerprint {
    private static final Comparator<Header> BY_NAME = Comparator.comparing(Header::name);
    private static final byte[] VERSION = "pam-approval fingerprint v1".getBytes(StandardCharsets.UTF_8);

    private Fingerprint() {
    }

    static String of(String routeId, String method, String path, Headers args, String model, ByteBuffer body) {
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        part(d, VERSION);
        part(d, routeId);
        part(d, method);
        part(d, path);
        lengthOf(d, args.size());
        for (Header a : byName(args)) {
            part(d, a.name());
            if (a.value() == null) {
                d.update((byte) 0); // a bare ?flag differs from ?flag=
            } else {
                d.update((byte) 1);
                part(d, a.value());
            }
        }
        part(d, model);
        lengthOf(d, body.remaining());
        d.update(body);
        return HexFormat.of().formatHex(d.digest());
    }

    /** Stable: {@link List#sort} keeps equal names in their order. */
    private static List<Header> byName(Headers args) {
        List<Header> sorted = new ArrayList<>(args.entries());
        sorted.sort(BY_NAME);
        return sorted;
    }

    private static void part(MessageDigest d, String s) {
        part(d, s.getBytes(StandardCharsets.UTF_8));
    }

    private static void part(MessageDigest d, byte[] b) {
        lengthOf(d, b.length);
        d.update(b);
    }

    private static void lengthOf(MessageDigest d, long n) {
        for (int i = 7; i >= 0; i--) {
            d.update((byte) (n >>> (i * 8)));
        }
    }
}

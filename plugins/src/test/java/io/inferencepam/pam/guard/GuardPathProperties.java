package io.inferencepam.pam.guard;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.catalog.Catalog;
import io.inferencepam.pam.catalog.Endpoint;
import io.inferencepam.pam.catalog.Pack;
import io.inferencepam.pam.catalog.PathPattern;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Whatever a client sends, if the most lenient model server imaginable (decodes percent-escapes
 * until nothing changes, drops {@code ;params}, collapses slashes, resolves dot segments, strips a
 * trailing slash, ignores case) would read it as a dangerous endpoint, pam-guard does not let it
 * through.
 */
class GuardPathProperties {
    static final Plugin GUARD = GuardCalls.plugin("{\"allow_only_inference\":false}");
    static final List<String> DANGEROUS = dangerousSamples();

    static List<String> dangerousSamples() {
        List<String> out = new ArrayList<>();
        for (Pack p : Catalog.PACKS) {
            for (Endpoint e : p.endpoints()) {
                out.add(GuardEndpointTest.method(e) + " " + GuardEndpointTest.sample(e.path()));
            }
        }
        return out;
    }

    /** How a lenient server reads a raw path. */
    static String lenient(String raw) {
        String p = raw;
        for (int i = 0; i < 4; i++) {
            String d;
            try {
                d = URLDecoder.decode(p.replace("+", "%2B"), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                break;
            }
            if (d.equals(p)) {
                break;
            }
            p = d;
        }
        p = p.replace('\\', '/');
        List<String> out = new ArrayList<>();
        for (String seg : p.split("/")) {
            int semi = seg.indexOf(';');
            if (semi >= 0) {
                seg = seg.substring(0, semi);
            }
            if (seg.isEmpty() || seg.equals(".")) {
                continue;
            }
            if (seg.equals("..")) {
                if (!out.isEmpty()) {
                    out.remove(out.size() - 1);
                }
                continue;
            }
            out.add(seg);
        }
        return ("/" + String.join("/", out)).toLowerCase(Locale.ROOT);
    }

    static boolean dangerousForLenientServer(String method, String raw) {
        String[] lower = PathPattern.segments(lenient(raw));
        for (Pack p : Catalog.PACKS) {
            for (Endpoint e : p.endpoints()) {
                if (e.acceptsMethod(method) && e.path().matchesIgnoringCase(lower)) {
                    return true;
                }
            }
        }
        return false;
    }

    /** What nginx would hand over as $uri: one percent-decoding, no normalisation beyond that. */
    static String nginxDecoded(String raw) {
        try {
            return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            return raw;
        }
    }

    @Property(tries = 4000)
    void nothingALenientServerReadsAsDangerousPasses(@ForAll("disguised") String call) {
        String method = call.substring(0, call.indexOf(' '));
        String raw = call.substring(call.indexOf(' ') + 1);
        if (!dangerousForLenientServer(method, raw)) {
            return;
        }
        RequestDecision d = GuardCalls.call(method, nginxDecoded(raw)).raw(raw).run(GUARD);
        assertThat(d).as(raw).isInstanceOf(RequestDecision.Halt.class);
    }

    @Provide
    Arbitrary<String> disguised() {
        Arbitrary<String> base = Arbitraries.of(DANGEROUS);
        return Combinators.combine(base, Arbitraries.integers().between(0, 7), Arbitraries.integers().between(0, 1 << 12))
                .as(GuardPathProperties::disguise);
    }

    /** Applies a few tricks, chosen by {@code bits}, at a position chosen by {@code where}. */
    static String disguise(String call, int where, int bits) {
        int space = call.indexOf(' ');
        return call.substring(0, space + 1) + disguisePath(call.substring(space + 1), where, bits);
    }

    static String disguisePath(String path, int where, int bits) {
        StringBuilder sb = new StringBuilder();
        int slashes = 0;
        for (int i = 0; i < path.length(); i++) {
            char c = path.charAt(i);
            boolean here = c == '/' && slashes++ == where % 4;
            if (here && (bits & 1) != 0) {
                sb.append("/./");
            } else if (here && (bits & 2) != 0) {
                sb.append("//");
            } else if (here && (bits & 4) != 0) {
                sb.append("/x/../");
            } else if (here && (bits & 8) != 0) {
                sb.append("%2F");
            } else if (here && (bits & 16) != 0) {
                sb.append("%252F");
            } else if (c == '_' && (bits & 32) != 0) {
                sb.append("%5F");
            } else if (Character.isLetter(c) && (bits & 64) != 0 && i % 2 == 0) {
                sb.append(Character.toUpperCase(c));
            } else if (c == 'a' && (bits & 128) != 0) {
                sb.append("%61");
            } else {
                sb.append(c);
            }
        }
        if ((bits & 256) != 0) {
            sb.append('/');
        }
        if ((bits & 512) != 0) {
            sb.append(";jsessionid=1");
        }
        if ((bits & 1024) != 0) {
            sb.append("%2f");
        }
        if ((bits & 2048) != 0) {
            sb.insert(0, "/.");
        }
        return sb.toString();
    }
}

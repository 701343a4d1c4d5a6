package io.inferencepam.pam.guard;

import io.inferencepam.pam.core.KeyFold;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * {@link StrictJsonBody#view} decides common bodies by {@link StrictJsonScan} and leaves the rest to
 * the Jackson pass it had before ({@link StrictJsonBody#viewByJackson}, the oracle): on every body
 * both give the same answer — the same members, or the same refusal — including bodies built to
 * slip past a hand-written scanner: repeated keys spelled with escapes, keys that fold together
 * through the Kelvin sign, long s or dotted I, raw control characters, broken escapes, numbers
 * Jackson cannot convert, depth bombs, truncations and single-byte mutations of a valid body.
 */
class StrictJsonScanProperties {
    /** Top-level names a parameter policy, prompt rules and both read (as {@code GuardPlugin} hands them over). */
    private static final List<StrictJsonBody.Members> NAMES = List.of(
            StrictJsonBody.Members.of(Set.of("model", "max_tokens", "max_completion_tokens", "temperature", "stream",
                    "stream_options", "logprobs", "top_logprobs", "logit_bias", "n", "echo", "best_of", "options")),
            StrictJsonBody.Members.of(Set.of("messages", "prompt", "input", "instructions", "system", "tools")),
            StrictJsonBody.Members.of(Set.of("model", "max_tokens", "temperature", "stream", "messages", "options")),
            StrictJsonBody.Members.of(Set.of()));

    private static final String CHAT = "{\"model\":\"llama-3\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
            + "{\"role\":\"user\",\"content\":\"caf\u00e9 \\\"quoted\\\" \\u00e9\\n tab\\t \u65e5\u672c 😀 end\"}],"
            + "\"max_tokens\":512,\"temperature\":0.7,\"top_p\":1e-2,\"stream\":false,\"stop\":null,\"n\":-1,"
            + "\"options\":{\"num_predict\":12.5E+3,\"seed\":0},\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
            + "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}},\"required\":[\"a\"]}}}],"
            + "\"logit_bias\":{},\"x\":[[],[true,false],[\"\"],{}]}";

    @Property(tries = 3000)
    void sameAsTheJacksonPass(@ForAll("bodies") byte[] body, @ForAll("names") int names) {
        Statistics.label("scan accepted").collect(assertSame(body, names));
    }

    @Property(tries = 2000)
    void mutatedBodiesToo(@ForAll("mutations") byte[] body, @ForAll("names") int names) {
        Statistics.label("scan accepted").collect(assertSame(body, names));
    }

    /** Every prefix of a body with every JSON feature, and every single-byte deletion and replacement by a structural byte. */
    @Example
    void everyTruncationAndMutationOfAValidBody() {
        byte[] chat = CHAT.getBytes(StandardCharsets.UTF_8);
        assertThat(assertSame(chat, 0)).as("the scan accepts the valid body").isTrue();
        byte[] tricky = "\"\\,:{}[] \u0001\u007fe-+.0u".getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i <= chat.length; i++) {
            for (int names = 0; names < NAMES.size(); names++) {
                assertSame(java.util.Arrays.copyOf(chat, i), names);
                if (i < chat.length) {
                    byte[] cut = new byte[chat.length - 1];
                    System.arraycopy(chat, 0, cut, 0, i);
                    System.arraycopy(chat, i + 1, cut, i, chat.length - i - 1);
                    assertSame(cut, names);
                    for (byte t : tricky) {
                        byte[] m = chat.clone();
                        m[i] = t;
                        assertSame(m, names);
                    }
                }
            }
        }
    }

    /**
     * Keys built to share a fold hash ("#z" and "$[" hash alike and do not fold together): the scan
     * leaves every such object to the Jackson pass instead of comparing the keys pairwise, which made
     * 64 long colliding keys per object cost 10-15x the Jackson pass (review). Same verdict either way.
     */
    @Example
    void keysBuiltToCollideAreLeftToTheJacksonPass() {
        assertThat(KeyFold.foldHash("#z")).isEqualTo(KeyFold.foldHash("$["));
        String[] bodies = {
            "{\"model\":\"m\",\"max_tokens\":5,\"#z\":1,\"$[\":2}",
            "{\"model\":\"m\",\"max_tokens\":5,\"x\":[{\"#z#z\":1,\"$[$[\":2,\"#z$[\":3}]}",
            "{\"model\":\"m\",\"x\":{\"y\":{\"#z\":1,\"$[\":2}}}",
        };
        for (String body : bodies) {
            assertThat(assertSame(body.getBytes(StandardCharsets.UTF_8), 0)).as(body).isFalse();
        }
        assertThat(assertSame("{\"model\":\"m\",\"#z\":1,\"x\":{\"$[\":2}}".getBytes(StandardCharsets.UTF_8), 0))
                .as("alike keys of different objects do not matter").isTrue();
    }

    @Example
    void bypassAttempts() {
        String[] bodies = {
            // a repeated key, once spelled with an escape: the scan does not decode keys, Jackson refuses
            "{\"model\":\"m\",\"max_tokens\":5,\"max\\u005ftokens\":100000}",
            "{\"model\":\"m\",\"max\\u005ftokens\":100000,\"max_tokens\":5}",
            "{\"model\":\"m\",\"x\":{\"a\":1,\"\\u0061\":2}}",
            "{\"model\":\"m\",\"x\":[{\"a\":1},{\"a\":1,\"\\u0061\":2}]}",
            "{\"model\":\"m\",\"x\":{\"y\":{\"z\":{\"a\":1,\"a\":2}}}}",
            "{\"model\":\"m\",\"max_tokens\":5,\"max_tokens\":100000}",
            // keys that fold together: ASCII case, '_' / '-', and through non-ASCII letters
            "{\"model\":\"m\",\"max_tokens\":5,\"MAX-TOKENS\":100000}",
            "{\"model\":\"m\",\"max_tokens\":5,\"max_to\u212Aens\":100000}",
            "{\"model\":\"m\",\"stream\":false,\"\u017Ftream\":true}",
            "{\"model\":\"m\",\"options\":{\"num_predict\":5},\"opt\u0130ons\":{\"num_predict\":-1}}",
            "{\"model\":\"m\",\"options\":{\"num_predict\":5,\"NUM_PREDICT\":-1}}",
            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\",\"Content\":\"b\"}]}",
            "{\"model\":\"m\",\"x\":[[{\"a\":1,\"A\":2}]]}",
            "{\"model\":\"m\",\"x\":{\"y\":{\"a\":1,\"A\":2}}}",
            // strings, escapes, control characters
            "{\"model\":\"m\",\"x\":\"a\u0001b\"}", "{\"model\":\"m\",\"x\":\"a\u001fb\"}", "{\"model\":\"m\",\"x\":\"a\u007fb\"}",
            "{\"model\":\"m\",\"x\":\"\\q\"}", "{\"model\":\"m\",\"x\":\"\\u12\"}", "{\"model\":\"m\",\"x\":\"\\u12G4\"}",
            "{\"model\":\"m\",\"x\":\"\\ud800\"}", "{\"model\":\"m\",\"x\":\"\\\\\"}", "{\"model\":\"m\",\"x\":\"\\\"}",
            "{\"model\":\"m\",\"x\":\"" + "a".repeat(7) + "\u0001" + "b".repeat(20) + "\"}",
            "{\"model\":\"m\",\"x\":\"" + "a".repeat(15) + "\\" + "\"}",
            "{\"model\":\"m\",\"ke\u0001y\":1}", "{\"model\":\"m\",\"k\u00e9y\":1}", "{\"model\":\"m\",\"k\u007fy\":1}",
            "{\"model\":\"m\",\"" + "k".repeat(300) + "\":1}",
            // numbers
            "{\"model\":\"m\",\"max_tokens\":01}", "{\"model\":\"m\",\"max_tokens\":-}", "{\"model\":\"m\",\"max_tokens\":1.}",
            "{\"model\":\"m\",\"max_tokens\":.5}", "{\"model\":\"m\",\"max_tokens\":1e}", "{\"model\":\"m\",\"max_tokens\":+1}",
            "{\"model\":\"m\",\"max_tokens\":1e9999999999}", "{\"model\":\"m\",\"x\":1e9999999999}", "{\"model\":\"m\",\"x\":1E99999}",
            "{\"model\":\"m\",\"x\":1E9999}", "{\"model\":\"m\",\"x\":-0.0e-0}", "{\"model\":\"m\",\"x\":" + "9".repeat(1200) + "}",
            "{\"model\":\"m\",\"x\":" + "9".repeat(64) + "}", "{\"model\":\"m\",\"x\":" + "9".repeat(65) + "}",
            "{\"model\":\"m\",\"x\":NaN}", "{\"model\":\"m\",\"x\":Infinity}", "{\"model\":\"m\",\"x\":0x10}",
            // literals and structure
            "{\"model\":\"m\",\"x\":tru}", "{\"model\":\"m\",\"x\":truee}", "{\"model\":\"m\",\"x\":nul}", "{\"model\":\"m\",\"x\":fals}",
            "{\"model\":\"m\",\"x\":True}", "{\"model\":\"m\",}", "{\"model\":\"m\",\"x\":[1,]}", "{\"model\":\"m\",\"x\":[,1]}",
            "{\"model\":\"m\" \"x\":1}", "{\"model\" \"m\"}", "{\"model\":\"m\"}}", "{\"model\":\"m\"} {}", "{\"model\":\"m\"} x",
            "{\"model\":\"m\"}\u0000", " \t\r\n{\"model\":\"m\"} \t\r\n", "{\"model\":\"m\"}\f", "\f{\"model\":\"m\"}",
            "{'model':'m'}", "{model:\"m\"}", "{\"model\":\"m\"/* c */}", "{\"model\":\"m\"# c\n}", "[]", "\"x\"", "1", "{}",
            "{\"\":1}", "{\"\":1,\"\":2}",
            // nesting: within and beyond the scan's limit, and beyond Jackson's
            "{\"x\":" + "[".repeat(60) + "]".repeat(60) + "}", "{\"x\":" + "[".repeat(70) + "]".repeat(70) + "}",
            "{\"x\":" + "[".repeat(3000) + "]".repeat(3000) + "}", "{\"x\":" + "{\"a\":".repeat(2000) + "1" + "}".repeat(2000) + "}",
            "{\"x\":" + "[".repeat(3000) + "}",
        };
        for (String b : bodies) {
            for (int names = 0; names < NAMES.size(); names++) {
                assertSame(b.getBytes(StandardCharsets.UTF_8), names);
            }
        }
        assertThat(StrictJsonBody.view("{\"model\":\"m\",\"max_tokens\":5,\"max\\u005ftokens\":100000}"
                .getBytes(StandardCharsets.UTF_8), NAMES.get(0), List.of("model"))).isInstanceOf(StrictJsonBody.Refused.class);
    }

    /** @return whether the scan accepted the body itself (else the Jackson pass decided) */
    private static boolean assertSame(byte[] body, int names) {
        StrictJsonBody.Members m = NAMES.get(names);
        List<String> more = List.of("model");
        String fast = render(StrictJsonBody.view(body, m, more));
        String oracle = render(StrictJsonBody.viewByJackson(body, m, more));
        assertThat(fast).as(new String(body, StandardCharsets.UTF_8)).isEqualTo(oracle);
        return StrictJsonScan.wantedMembers(body, k -> m.names().find(k) != null || more.contains(k)) != null;
    }

    private static String render(StrictJsonBody.Result r) {
        return r instanceof StrictJsonBody.Parsed p ? "parsed " + p.body() : r.toString();
    }

    @Provide
    Arbitrary<Integer> names() {
        return Arbitraries.integers().between(0, NAMES.size() - 1);
    }

    @Provide
    Arbitrary<byte[]> bodies() {
        return new GuardStreamingProperties().bodies().map(s -> s.getBytes(StandardCharsets.UTF_8));
    }

    /** A valid body with one to three bytes inserted, replaced or deleted, from bytes that matter to a JSON scanner. */
    @Provide
    Arbitrary<byte[]> mutations() {
        Arbitrary<Byte> tricky = Arbitraries.of((byte) '"', (byte) '\\', (byte) ',', (byte) ':', (byte) '{', (byte) '}',
                (byte) '[', (byte) ']', (byte) ' ', (byte) 1, (byte) 0x1f, (byte) 0x7f, (byte) 'e', (byte) '-', (byte) '0',
                (byte) 'u', (byte) 'A', (byte) '_', (byte) 0xC3);
        Arbitrary<int[]> edit = Combinators.combine(Arbitraries.integers().between(0, 2), Arbitraries.integers().between(0, 100_000),
                tricky).as((kind, at, t) -> new int[] {kind, at, t});
        Arbitrary<byte[]> base = Arbitraries.oneOf(bodies(), Arbitraries.just(CHAT.getBytes(StandardCharsets.UTF_8)));
        return Combinators.combine(base, edit.list().ofMinSize(1).ofMaxSize(3)).as((b, edits) -> {
            List<Byte> out = new ArrayList<>();
            for (byte x : b) {
                out.add(x);
            }
            for (int[] e : edits) {
                int at = e[1] % (out.size() + 1);
                switch (e[0]) {
                    case 0 -> out.add(at, (byte) e[2]);
                    case 1 -> {
                        if (at < out.size()) {
                            out.set(at, (byte) e[2]);
                        }
                    }
                    default -> {
                        if (at < out.size()) {
                            out.remove(at);
                        }
                    }
                }
            }
            byte[] r = new byte[out.size()];
            for (int i = 0; i < r.length; i++) {
                r[i] = out.get(i);
            }
            return r;
        });
    }
}

package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Bypass attempts on a {@code params_above} token limit: the risky value under any output-token
 * limit of the family ({@code max_completion_tokens} beside a rule's {@code max_tokens}), spelled as
 * a case-insensitive decoder (Go) or a lax validator (pydantic) reads it, hidden among duplicates
 * and decoys within the threshold, is always held; decoys alone are never held.
 */
class ParamsAboveProperties {
    static final int THRESHOLD = 4096;

    /** Go folds each letter with its simple case folding partners; KeyFold also drops '_' and '-'. */
    static String spelling(String name, Random rnd) {
        StringBuilder sb = new StringBuilder();
        for (char c : name.toCharArray()) {
            if (c == '_') {
                sb.append(switch (rnd.nextInt(4)) {
                    case 0 -> "";
                    case 1 -> "-";
                    case 2 -> "__";
                    default -> "_";
                });
            } else if (c == 'k' && rnd.nextInt(5) == 0) {
                sb.append('\u212A'); // KELVIN SIGN folds to k
            } else if (c == 's' && rnd.nextInt(5) == 0) {
                sb.append('\u017F'); // LONG S folds to s
            } else {
                sb.append(rnd.nextBoolean() ? Character.toUpperCase(c) : c);
            }
        }
        return sb.toString();
    }

    /** {@code v} as a JSON number or a string pydantic reads as that number. */
    static String value(long v, Random rnd) {
        String digits = Long.toString(v);
        return switch (rnd.nextInt(8)) {
            case 0 -> digits;
            case 1 -> digits + ".0";
            case 2 -> "\"" + digits + "\"";
            case 3 -> "\"+" + digits + "\"";
            case 4 -> "\" " + digits + "\\t\"";
            case 5 -> "\"" + String.join("_", digits.split("")) + "\"";
            case 6 -> "\"" + digits + ".00\"";
            default -> digits.length() > 1 && digits.endsWith("0")
                    ? "\"" + digits.substring(0, digits.length() - 1) + "e1\"" : digits;
        };
    }

    record Member(boolean nested, String json) {
    }

    /** The limit the rule names at that level ({@link ParamsAboveTest#limits}). */
    static Member member(boolean nested, long v, Random rnd) {
        return member(nested, nested ? "num_predict" : "max_tokens", v, rnd);
    }

    /** Any output-token limit of the family, at the level the rule names: each is checked. */
    static Member anyLimit(boolean nested, long v, Random rnd) {
        return member(nested, ParamsAboveTest.FAMILY.get(rnd.nextInt(ParamsAboveTest.FAMILY.size())), v, rnd);
    }

    static Member member(boolean nested, String limit, long v, Random rnd) {
        return new Member(nested, "\"" + spelling(limit, rnd) + "\":" + value(v, rnd));
    }

    static String body(List<Member> members, Random rnd) {
        List<String> top = new ArrayList<>(List.of("\"model\":\"m\"", "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"));
        List<String> options = new ArrayList<>();
        for (Member m : members) {
            (m.nested() ? options : top).add(m.json());
        }
        if (!options.isEmpty()) {
            // one options object, or one per member under repeated spellings of "options"
            if (rnd.nextBoolean()) {
                top.add("\"" + spelling("options", rnd) + "\":{" + String.join(",", options) + "}");
            } else {
                for (String o : options) {
                    top.add("\"" + spelling("options", rnd) + "\":{" + o + "}");
                }
            }
        }
        Collections.shuffle(top, rnd);
        return "{" + String.join(",", top) + "}";
    }

    @Provide
    Arbitrary<Long> above() {
        return Arbitraries.longs().between(THRESHOLD + 1, 10_000_000_000L);
    }

    @Provide
    Arbitrary<Long> within() {
        return Arbitraries.longs().between(1, THRESHOLD);
    }

    @Provide
    Arbitrary<List<Long>> decoys() {
        return within().list().ofMaxSize(4);
    }

    @Property(tries = 2000)
    void aValueAboveTheThresholdInAnySpellingIsHeld(@ForAll("above") long risky, @ForAll boolean riskyNested,
                                                    @ForAll("decoys") List<Long> decoys, @ForAll long seed) throws Exception {
        Random rnd = new Random(seed);
        List<Member> members = new ArrayList<>();
        members.add(anyLimit(riskyNested, risky, rnd));
        for (long d : decoys.subList(0, Math.min(decoys.size(), 4))) {
            members.add(anyLimit(rnd.nextBoolean(), d, rnd));
        }
        String body = body(members, rnd);
        assertThat(ParamsAboveTest.held(ParamsAboveTest.limits(), body)).as(body).isTrue();
    }

    @Property(tries = 1000)
    void valuesWithinTheThresholdInAnySpellingAreNotHeld(@ForAll("within") long first, @ForAll boolean nested,
                                                         @ForAll("decoys") List<Long> more, @ForAll long seed,
                                                         @ForAll @IntRange(max = 3) int count) throws Exception {
        Random rnd = new Random(seed);
        List<Member> members = new ArrayList<>();
        members.add(member(nested, first, rnd));
        for (long d : more.subList(0, Math.min(more.size(), count))) {
            members.add(anyLimit(rnd.nextBoolean(), d, rnd));
        }
        String body = body(members, rnd);
        assertThat(ParamsAboveTest.held(ParamsAboveTest.limits(), body)).as(body).isFalse();
    }
}

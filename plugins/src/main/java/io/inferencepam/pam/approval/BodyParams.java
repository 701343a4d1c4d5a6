package io.inferencepam.pam.approval;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The numeric request parameters a hold rule compares with its thresholds ({@code max_tokens},
 * {@code n}, {@code options.num_predict}, …), read from a JSON body in one streaming pass that
 * skips everything else. Read conservatively, because a missed value lets a risky call through
 * without a human: a name that appears twice counts with its largest value (whichever copy the
 * model server keeps), {@code true} counts as 1, a numeric string as its number; a body that is
 * not a JSON object makes {@link #unreadable()} true, and rules treat that as "above".
 */
final class BodyParams {
    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build()).build();
    private static final BodyParams UNREADABLE = new BodyParams(Map.of(), true);
    private static final BodyParams NONE = new BodyParams(Map.of(), false);

    private final Map<String, Double> values;
    private final boolean unreadable;

    private BodyParams(Map<String, Double> values, boolean unreadable) {
        this.values = values;
        this.unreadable = unreadable;
    }

    /**
     * @param wanted dotted paths of at most two levels ({@code max_tokens}, {@code options.num_predict})
     */
    static BodyParams read(byte[] body, Set<String> wanted) {
        if (body.length == 0) {
            return NONE;
        }
        Map<String, Double> found = new HashMap<>();
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return UNREADABLE;
            }
            readObject(p, "", wanted, found);
            if (p.nextToken() != null) {
                return UNREADABLE; // trailing content: another parser may read another document
            }
        } catch (IOException | RuntimeException e) {
            return UNREADABLE;
        }
        return new BodyParams(found, false);
    }

    private static void readObject(JsonParser p, String prefix, Set<String> wanted, Map<String, Double> found) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String path = prefix + p.currentName();
            JsonToken t = p.nextToken();
            if (t == JsonToken.START_OBJECT && prefix.isEmpty() && wantsUnder(wanted, path)) {
                readObject(p, path + ".", wanted, found);
            } else if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                p.skipChildren();
            } else if (wanted.contains(path)) {
                Double v = number(p, t);
                if (v != null) {
                    found.merge(path, v, Math::max);
                }
            }
        }
    }

    private static boolean wantsUnder(Set<String> wanted, String path) {
        for (String w : wanted) {
            if (w.length() > path.length() && w.startsWith(path) && w.charAt(path.length()) == '.') {
                return true;
            }
        }
        return false;
    }

    private static Double number(JsonParser p, JsonToken t) throws IOException {
        return switch (t) {
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getValueAsDouble();
            case VALUE_TRUE -> 1.0;
            case VALUE_FALSE -> 0.0;
            case VALUE_STRING -> {
                try {
                    yield Double.parseDouble(p.getText().trim());
                } catch (NumberFormatException e) {
                    yield null;
                }
            }
            default -> null;
        };
    }

    boolean unreadable() {
        return unreadable;
    }

    /** True if {@code name} is present with a value above {@code threshold}, or the body could not be read. */
    boolean above(String name, double threshold) {
        if (unreadable) {
            return true;
        }
        Double v = values.get(name);
        return v != null && (v > threshold || v.isNaN());
    }
}

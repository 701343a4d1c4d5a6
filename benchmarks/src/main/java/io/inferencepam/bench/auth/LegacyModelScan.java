package io.inferencepam.bench.auth;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.util.List;

/**
 * The baseline for {@link BodyScanBench}: pam-auth's body scan as it was before issue 10 (commit
 * 5841284, {@code JsonModelField.read}), kept here only so that old and new are measured in the
 * same run. Same parser settings (interned names, no size limit, no UTF-8 pass), same walk.
 */
final class LegacyModelScan {
    private static final JsonFactory STRICT = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private LegacyModelScan() {
    }

    /** The model field's value, or null when the body is refused. */
    static String read(byte[] body, List<String> fieldNames) {
        String[] values = new String[fieldNames.size()];
        try (JsonParser p = STRICT.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (p.nextToken() != JsonToken.END_OBJECT) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                int idx = fieldNames.indexOf(name);
                if (idx >= 0) {
                    if (v != JsonToken.VALUE_STRING) {
                        return null;
                    }
                    values[idx] = p.getText();
                } else if (v == JsonToken.START_OBJECT || v == JsonToken.START_ARRAY) {
                    int depth = 1;
                    while (depth > 0) {
                        JsonToken t = p.nextToken();
                        if (t == null) {
                            return null;
                        }
                        if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                            depth++;
                        } else if (t == JsonToken.END_OBJECT || t == JsonToken.END_ARRAY) {
                            depth--;
                        }
                    }
                }
            }
            if (p.nextToken() != null) {
                return null;
            }
        } catch (IOException e) {
            return null;
        }
        return values[0];
    }
}

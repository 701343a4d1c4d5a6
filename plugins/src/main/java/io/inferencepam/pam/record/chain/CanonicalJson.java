package io.inferencepam.pam.record.chain;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The one serialization of an audit entry that is hashed and stored: object keys sorted by code
 * point, no insignificant whitespace, Jackson's string escaping. Entries only hold strings,
 * booleans, integers, nulls, arrays and objects, so parsing a stored line and writing it again
 * gives the same bytes — which is what lets a verifier recompute hashes.
 */
public final class CanonicalJson {
    public static final ObjectMapper MAPPER = JsonMapper.builder().build();
    private static final JsonFactory FACTORY = MAPPER.getFactory();

    private CanonicalJson() {
    }

    public static String write(JsonNode node) {
        StringWriter out = new StringWriter(256);
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            write(g, node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    /**
     * The canonical JSON of a top-level object, split where a field named {@code splitAt} (absent
     * from {@code node}) would sort: {@code [before, after]}. {@code before + after} is the canonical
     * form without that field; the field can be spliced in without serializing again.
     */
    public static String[] writeSplit(JsonNode node, String splitAt) {
        List<String> names = new ArrayList<>(node.size());
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        names.sort(null);
        StringWriter out = new StringWriter(1024);
        int split = -1;
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            g.writeStartObject();
            for (String name : names) {
                if (split < 0 && name.compareTo(splitAt) > 0) {
                    g.flush();
                    split = out.getBuffer().length();
                }
                g.writeFieldName(name);
                write(g, node.get(name));
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String all = out.toString();
        if (split < 0) {
            split = all.length() - 1; // before the closing brace
        }
        return new String[] {all.substring(0, split), all.substring(split)};
    }

    private static void write(JsonGenerator g, JsonNode n) throws IOException {
        if (n.isObject()) {
            List<String> names = new ArrayList<>(n.size());
            for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                names.add(it.next());
            }
            names.sort(null);
            g.writeStartObject();
            for (String name : names) {
                g.writeFieldName(name);
                write(g, n.get(name));
            }
            g.writeEndObject();
        } else if (n.isArray()) {
            g.writeStartArray();
            for (JsonNode e : n) {
                write(g, e);
            }
            g.writeEndArray();
        } else if (n.isTextual()) {
            g.writeString(n.textValue());
        } else if (n.isIntegralNumber()) {
            if (n.canConvertToLong()) {
                g.writeNumber(n.longValue());
            } else {
                g.writeNumber(n.bigIntegerValue());
            }
        } else if (n.isBoolean()) {
            g.writeBoolean(n.booleanValue());
        } else if (n.isNull() || n.isMissingNode()) {
            g.writeNull();
        } else {
            g.writeTree(n); // floats and binary: not produced by pam-record
        }
    }

    public static JsonNode parse(String json) throws IOException {
        return MAPPER.readTree(json);
    }
}

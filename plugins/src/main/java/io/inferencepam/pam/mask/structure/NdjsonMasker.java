package io.inferencepam.pam.mask.structure;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.inferencepam.pam.mask.MaskFailure;
import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.Redactor;
import io.inferencepam.pam.mask.Redactor.Replacement;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Masks a newline-delimited JSON stream (Ollama's {@code application/x-ndjson}): one JSON value per
 * line. The strings at the stream's text paths ({@link StreamShapes#ndjsonTextPaths}) are
 * reassembled across lines, scanned whole and written back so no fragment of a value survives in
 * any line; every other string, key and integer is masked within its line, as in a JSON body. A
 * string path of a shape pam-mask does not know, whose values differ line after line, is checked
 * the same way: a value found only across two lines means a stream pam-mask cannot reassemble,
 * and the response fails closed. Lines with nothing masked keep their bytes; others are written
 * anew (member order kept).
 */
public final class NdjsonMasker {
    private final ObjectMapper mapper = new ObjectMapper();
    private final Redactor redactor;
    private final JsonMasker json;
    private final StreamShapes shapes;
    private final SplitValueCheck splitValues;

    public NdjsonMasker(Redactor redactor, JsonMasker json, StreamShapes shapes) {
        this.redactor = redactor;
        this.json = json;
        this.shapes = shapes;
        this.splitValues = new SplitValueCheck(redactor);
    }

    /** A string in one line: its parent object and member name, and its text. */
    private record Piece(int line, ObjectNode parent, String name, String text) {
    }

    public byte[] mask(byte[] body, MaskTally tally) {
        String s = new String(body, StandardCharsets.UTF_8);
        List<String> lines = new ArrayList<>();
        List<String> ends = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            int nl = s.indexOf('\n', i);
            int end = nl < 0 ? s.length() : nl;
            int contentEnd = end > i && s.charAt(end - 1) == '\r' ? end - 1 : end;
            lines.add(s.substring(i, contentEnd));
            ends.add(s.substring(contentEnd, nl < 0 ? end : end + 1));
            i = nl < 0 ? s.length() : nl + 1;
        }
        JsonNode[] trees = new JsonNode[lines.size()];
        boolean[] changed = new boolean[lines.size()];
        Map<String, List<Piece>> streams = new LinkedHashMap<>();
        Map<String, List<Piece>> others = new LinkedHashMap<>();
        for (int l = 0; l < lines.size(); l++) {
            if (lines.get(l).isBlank()) {
                continue;
            }
            try {
                trees[l] = mapper.readTree(lines.get(l));
            } catch (JsonProcessingException e) {
                throw MaskFailure.unscannable("invalid JSON in a line of an NDJSON stream");
            }
            if (trees[l] == null) {
                continue;
            }
            MaskTally lineTally = new MaskTally();
            if (trees[l].isValueNode()) {
                // a bare string or number line: masked as a JSON body
                byte[] lb = lines.get(l).getBytes(StandardCharsets.UTF_8);
                byte[] m = json.mask(lb, lineTally);
                if (m != lb) {
                    lines.set(l, new String(m, StandardCharsets.UTF_8));
                }
            } else {
                changed[l] = walk(l, trees[l], "", null, null, streams, others, lineTally);
            }
            tally.addAll(lineTally);
        }
        for (List<Piece> stream : streams.values()) {
            List<String> texts = stream.stream().map(Piece::text).toList();
            List<Replacement> plan = redactor.plan(String.join("", texts), tally);
            if (plan.isEmpty()) {
                continue;
            }
            List<String> out = StreamText.distribute(texts, plan);
            for (int k = 0; k < stream.size(); k++) {
                Piece p = stream.get(k);
                if (!out.get(k).equals(p.text())) {
                    p.parent().set(p.name(), TextNode.valueOf(out.get(k)));
                    changed[p.line()] = true;
                }
            }
        }
        for (List<Piece> other : others.values()) {
            splitValues.check(other.stream().map(Piece::text).toList());
        }
        boolean any = false;
        for (boolean c : changed) {
            any |= c;
        }
        if (!any) {
            return body;
        }
        StringBuilder out = new StringBuilder(s.length() + 64);
        for (int l = 0; l < lines.size(); l++) {
            out.append(changed[l] ? trees[l].toString() : lines.get(l)).append(ends.get(l));
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Collects stream pieces and masks everything else in place; true if the line changed. */
    private boolean walk(int line, JsonNode node, String path, ObjectNode parent, String name,
            Map<String, List<Piece>> streams, Map<String, List<Piece>> others, MaskTally tally) {
        boolean changed = false;
        if (node.isObject()) {
            ObjectNode o = (ObjectNode) node;
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            for (String f : names) {
                JsonNode v = o.get(f);
                if (shapes.tokenDataMembers().contains(f) && !v.isNull()) {
                    tally.sawTokenData();
                }
                String maskedName = redactor.mask(f, tally);
                if (!maskedName.equals(f)) {
                    // an e-mail used as a key: the member is renamed in place (order kept)
                    rename(o, f, maskedName);
                    changed = true;
                }
                changed |= walk(line, v, path.isEmpty() ? f : path + "." + f, o, maskedName, streams, others, tally);
            }
        } else if (node.isArray()) {
            for (int k = 0; k < node.size(); k++) {
                JsonNode v = node.get(k);
                if (v.isTextual() || v.isIntegralNumber()) {
                    String t = v.asText();
                    String m = v.isTextual() ? json.maskString(name, t, tally) : redactor.maskKeyed(name, t, tally);
                    if (!m.equals(t)) {
                        ((com.fasterxml.jackson.databind.node.ArrayNode) node).set(k, TextNode.valueOf(m));
                        changed = true;
                    }
                } else {
                    changed |= walk(line, v, path + "[]", null, name, streams, others, tally);
                }
            }
        } else if (node.isTextual() && parent != null) {
            String t = node.textValue();
            if (shapes.ndjsonTextPaths().contains(path)) {
                streams.computeIfAbsent(path, k -> new ArrayList<>()).add(new Piece(line, parent, name, t));
                return false;
            }
            others.computeIfAbsent(path, k -> new ArrayList<>()).add(new Piece(line, parent, name, t));
            String m = json.maskString(name, t, tally);
            if (!m.equals(t)) {
                parent.set(name, TextNode.valueOf(m));
                changed = true;
            }
        } else if (node.isIntegralNumber() && parent != null) {
            String t = node.asText();
            String m = redactor.maskKeyed(name, t, tally);
            if (!m.equals(t)) {
                parent.set(name, TextNode.valueOf(m));
                changed = true;
            }
        }
        return changed;
    }

    private static void rename(ObjectNode o, String from, String to) {
        Map<String, JsonNode> copy = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            copy.put(e.getKey().equals(from) ? to : e.getKey(), e.getValue());
        }
        o.removeAll();
        o.setAll(copy);
    }
}

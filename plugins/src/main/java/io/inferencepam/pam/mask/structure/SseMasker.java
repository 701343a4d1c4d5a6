package io.inferencepam.pam.mask.structure;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.Redactor;
import io.inferencepam.pam.mask.Redactor.Replacement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Masks a buffered server-sent-event stream (APISIX hands the runner the whole stream, conformance
 * P4). A value can be split across any number of events ("jo", "hn@ex", "ample.com"), so the
 * streamed text fields are reassembled per stream, scanned whole, and written back so that the
 * replacement token lands in the event where the value started and every other piece of the value
 * is removed from its event: no fragment survives anywhere.
 *
 * <p>Streams recognised: OpenAI chat chunks ({@code choices[i].delta.content / reasoning_content /
 * refusal}, {@code choices[i].text}, tool-call {@code function.arguments} per choice and tool-call
 * index), OpenAI Responses events ({@code response.*.delta}) and Anthropic
 * {@code content_block_delta} (text, thinking, partial_json). Tool-call arguments are masked as
 * JSON once reassembled; when they change, the first fragment carries the whole masked arguments
 * and later fragments become empty (clients concatenate). Every other string of every event is
 * masked within its event. Events without data, {@code [DONE]} and events where nothing was masked
 * are copied byte for byte.
 */
public final class SseMasker {
    private enum Kind { TEXT, ARGS }

    private record Fragment(int event, ObjectNode holder, String field, String text) {
    }

    private record Stream(Kind kind, List<Fragment> fragments) {
    }

    private static final class Event {
        final int rawStart;
        int rawEnd;
        final List<String> lines = new ArrayList<>();
        JsonNode tree;
        String newData;
        boolean dirty;

        Event(int rawStart) {
            this.rawStart = rawStart;
        }

        String data() {
            StringBuilder sb = null;
            for (String l : lines) {
                if (l.startsWith("data:")) {
                    String v = l.startsWith("data: ") ? l.substring(6) : l.substring(5);
                    sb = sb == null ? new StringBuilder(v) : sb.append('\n').append(v);
                }
            }
            return sb == null ? null : sb.toString();
        }
    }

    private final ObjectMapper mapper = JsonMapper.builder()
            .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();
    private final Redactor redactor;
    private final JsonMasker json;

    public SseMasker(Redactor redactor, JsonMasker json) {
        this.redactor = redactor;
        this.json = json;
    }

    /** The masked stream; the same string when nothing was masked. */
    public String mask(String text, MaskTally tally, Runnable deadlineCheck) {
        List<Event> events = parse(text);
        Map<String, Stream> streams = new LinkedHashMap<>();
        // ids, object names, model names repeat in every event: remember the ones with nothing to mask
        Set<String> clean = new HashSet<>();
        for (int e = 0; e < events.size(); e++) {
            Event ev = events.get(e);
            String data = ev.data();
            if (data == null || data.strip().equals("[DONE]")) {
                continue;
            }
            String t = data.strip();
            if (t.startsWith("{") || t.startsWith("[")) {
                try {
                    ev.tree = mapper.readTree(data);
                } catch (Exception notJson) {
                    ev.tree = null;
                }
            }
            if (ev.tree == null) {
                String masked = redactor.mask(data, tally);
                if (!masked.equals(data)) {
                    ev.newData = masked;
                    ev.dirty = true;
                }
                continue;
            }
            IdentityHashMap<ObjectNode, Set<String>> skip = new IdentityHashMap<>();
            extract(e, ev.tree, streams, skip);
            ev.dirty |= walk(ev.tree, null, skip, tally, clean);
            if ((e & 63) == 0) {
                deadlineCheck.run();
            }
        }
        for (Stream s : streams.values()) {
            rewrite(s, events, tally);
        }
        deadlineCheck.run();
        boolean any = false;
        for (Event ev : events) {
            any |= ev.dirty;
        }
        if (!any) {
            return text;
        }
        StringBuilder out = new StringBuilder(text.length() + 64);
        for (Event ev : events) {
            if (!ev.dirty) {
                out.append(text, ev.rawStart, ev.rawEnd);
                continue;
            }
            String data = ev.newData != null ? ev.newData : write(ev.tree);
            boolean written = false;
            for (String l : ev.lines) {
                if (!l.startsWith("data:")) {
                    out.append(l).append('\n');
                } else if (!written) {
                    for (String d : data.split("\n", -1)) {
                        out.append("data: ").append(d).append('\n');
                    }
                    written = true;
                }
            }
            out.append('\n');
        }
        return out.toString();
    }

    private String write(JsonNode tree) {
        try {
            return mapper.writeValueAsString(tree);
        } catch (Exception e) {
            throw new IllegalStateException("cannot serialize a parsed event", e);
        }
    }

    private static List<Event> parse(String s) {
        List<Event> events = new ArrayList<>();
        int n = s.length();
        int i = 0;
        Event cur = new Event(0);
        while (i < n) {
            int nl = s.indexOf('\n', i);
            int lineEnd = nl < 0 ? n : nl;
            int next = nl < 0 ? n : nl + 1;
            String line = s.substring(i, lineEnd);
            if (line.endsWith("\r")) {
                line = line.substring(0, line.length() - 1);
            }
            if (line.isEmpty()) {
                cur.rawEnd = next;
                events.add(cur);
                cur = new Event(next);
            } else {
                cur.lines.add(line);
            }
            i = next;
        }
        if (cur.rawStart < n) {
            cur.rawEnd = n;
            events.add(cur);
        }
        return events;
    }

    private static void extract(int e, JsonNode tree, Map<String, Stream> streams, IdentityHashMap<ObjectNode, Set<String>> skip) {
        if (!(tree instanceof ObjectNode root)) {
            return;
        }
        if (root.get("choices") instanceof ArrayNode choices) {
            for (int k = 0; k < choices.size(); k++) {
                if (!(choices.get(k) instanceof ObjectNode choice)) {
                    continue;
                }
                int idx = choice.path("index").asInt(k);
                add(streams, skip, "c" + idx + ":text", Kind.TEXT, e, choice, "text");
                if (choice.get("delta") instanceof ObjectNode delta) {
                    for (String f : List.of("content", "reasoning_content", "reasoning", "refusal")) {
                        add(streams, skip, "c" + idx + ":" + f, Kind.TEXT, e, delta, f);
                    }
                    if (delta.get("tool_calls") instanceof ArrayNode calls) {
                        for (int c = 0; c < calls.size(); c++) {
                            if (calls.get(c) instanceof ObjectNode call && call.get("function") instanceof ObjectNode fn) {
                                int ti = call.path("index").asInt(c);
                                add(streams, skip, "t" + idx + ":" + ti, Kind.ARGS, e, fn, "arguments");
                            }
                        }
                    }
                }
            }
        }
        String type = root.path("type").asText("");
        if (type.startsWith("response.") && type.endsWith(".delta")) {
            String item = root.path("item_id").asText("") + ":" + root.path("output_index").asText("") + ":"
                    + root.path("content_index").asText("");
            Kind kind = type.contains("arguments") ? Kind.ARGS : Kind.TEXT;
            add(streams, skip, "r" + type + ":" + item, kind, e, root, "delta");
        } else if (type.equals("content_block_delta") && root.get("delta") instanceof ObjectNode d) {
            int idx = root.path("index").asInt(0);
            add(streams, skip, "a" + idx + ":text", Kind.TEXT, e, d, "text");
            add(streams, skip, "a" + idx + ":thinking", Kind.TEXT, e, d, "thinking");
            add(streams, skip, "a" + idx + ":json", Kind.ARGS, e, d, "partial_json");
        }
    }

    private static void add(Map<String, Stream> streams, IdentityHashMap<ObjectNode, Set<String>> skip, String key,
                            Kind kind, int event, ObjectNode holder, String field) {
        JsonNode v = holder.get(field);
        if (v == null || !v.isTextual()) {
            return;
        }
        streams.computeIfAbsent(key, k -> new Stream(kind, new ArrayList<>()))
                .fragments().add(new Fragment(event, holder, field, v.textValue()));
        skip.computeIfAbsent(holder, h -> new HashSet<>()).add(field);
    }

    /** Masks every string not owned by a stream; true if anything changed. */
    private boolean walk(JsonNode node, String field, IdentityHashMap<ObjectNode, Set<String>> skip, MaskTally tally,
                         Set<String> clean) {
        boolean changed = false;
        if (node instanceof ObjectNode obj) {
            Set<String> skipped = skip.getOrDefault(obj, Set.of());
            List<String> names = new ArrayList<>();
            obj.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                JsonNode v = obj.get(name);
                if (JsonMasker.isLogprobs(name) && !v.isNull()) {
                    tally.sawTokenData();
                }
                if (v.isTextual()) {
                    if (!skipped.contains(name)) {
                        String m = maskCached(name, v.textValue(), tally, clean);
                        if (!m.equals(v.textValue())) {
                            obj.set(name, TextNode.valueOf(m));
                            changed = true;
                        }
                    }
                } else {
                    changed |= walk(v, name, skip, tally, clean);
                }
            }
        } else if (node instanceof ArrayNode arr) {
            for (int i = 0; i < arr.size(); i++) {
                JsonNode v = arr.get(i);
                if (v.isTextual()) {
                    String m = maskCached(field, v.textValue(), tally, clean);
                    if (!m.equals(v.textValue())) {
                        arr.set(i, TextNode.valueOf(m));
                        changed = true;
                    }
                } else {
                    changed |= walk(v, field, skip, tally, clean);
                }
            }
        }
        return changed;
    }

    /** A value with nothing to mask stays clean wherever it repeats, so it is scanned once per body. */
    private String maskCached(String field, String value, MaskTally tally, Set<String> clean) {
        // "arguments" are masked as JSON, everything else as text: keep the two apart
        String key = ("arguments".equals(field) ? "a:" : "t:") + value;
        if (clean.contains(key)) {
            return value;
        }
        String m = json.maskString(field, value, tally);
        if (m.equals(value) && value.length() <= 256 && clean.size() < 4096) {
            clean.add(key);
        }
        return m;
    }

    private void rewrite(Stream s, List<Event> events, MaskTally tally) {
        List<Fragment> frags = s.fragments();
        StringBuilder whole = new StringBuilder();
        for (Fragment f : frags) {
            whole.append(f.text());
        }
        String w = whole.toString();
        if (s.kind() == Kind.ARGS) {
            String masked = json.maskArguments(w, tally);
            if (!masked.equals(w)) {
                for (int i = 0; i < frags.size(); i++) {
                    set(frags.get(i), i == 0 ? masked : "", events);
                }
            }
            return;
        }
        List<Replacement> plan = redactor.plan(w, tally);
        if (plan.isEmpty()) {
            return;
        }
        int mi = 0;
        int a = 0;
        for (Fragment f : frags) {
            int b = a + f.text().length();
            StringBuilder out = new StringBuilder(f.text().length());
            int p = a;
            while (p < b) {
                while (mi < plan.size() && plan.get(mi).end() <= p) {
                    mi++;
                }
                if (mi < plan.size() && plan.get(mi).start() <= p) {
                    Replacement r = plan.get(mi);
                    if (p == r.start()) {
                        out.append(r.token());
                    }
                    p = Math.min(b, r.end());
                } else {
                    int next = mi < plan.size() ? Math.min(b, plan.get(mi).start()) : b;
                    out.append(w, p, next);
                    p = next;
                }
            }
            if (!out.toString().equals(f.text())) {
                set(f, out.toString(), events);
            }
            a = b;
        }
    }

    private static void set(Fragment f, String value, List<Event> events) {
        f.holder().set(f.field(), TextNode.valueOf(value));
        events.get(f.event()).dirty = true;
    }
}

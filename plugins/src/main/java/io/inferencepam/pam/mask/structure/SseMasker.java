package io.inferencepam.pam.mask.structure;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.base.ParserBase;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.inferencepam.pam.mask.MaskFailure;
import io.inferencepam.pam.mask.MaskTally;
import io.inferencepam.pam.mask.Redactor;
import io.inferencepam.pam.mask.Redactor.Replacement;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Masks a buffered server-sent-event stream (APISIX hands the runner the whole stream, conformance
 * P4). A value can be split across any number of events ("jo", "hn@ex", "ample.com"), so the
 * streamed text fields are reassembled per stream, scanned whole, and written back so that the
 * replacement token lands in the event where the value started and every other piece of the value
 * is removed from its event: no fragment survives anywhere.
 *
 * <p>Streams recognised: OpenAI chat chunks ({@code choices[i].delta.content / reasoning_content /
 * reasoning / refusal}, {@code choices[i].text}, tool-call {@code function.arguments} per choice
 * and tool-call index), OpenAI Responses events ({@code response.*.delta}) and Anthropic
 * {@code content_block_delta} (text, thinking, partial_json). Tool-call arguments are masked as
 * JSON once reassembled; when they change, the first fragment carries the whole masked arguments
 * and later fragments become empty (clients concatenate). Every other string of every event is
 * masked within its event.
 *
 * <p>How, without a JSON tree per event: the data payloads of the events whose data is a JSON
 * object or array are read by one streaming parser over a copy of the body in which everything
 * that is not such a payload (field names, {@code data:} prefixes, other lines, other events) is
 * blanked to spaces, line breaks kept. Offsets in that copy are offsets in the body, so a string
 * that must change is rewritten in place — its JSON string token, quotes included, is replaced by
 * the masked value — and every other byte of the stream is copied unchanged. Each event's payload
 * must be exactly one JSON value that starts and ends inside the event; an event whose payload is
 * not (truncated JSON, trailing text after the value) is masked as text, as any non-JSON data is.
 * A member name repeated in an object that locates streamed text (the event, a choice, a delta, a
 * tool call, its function) makes "which value is the text" ambiguous: the response fails closed.
 * {@code [DONE]} and events with nothing to mask are copied byte for byte. Every line that is not
 * a {@code data:} line (comments, {@code event:}, {@code id:}, unknown fields) is masked as text
 * ({@link SseOtherLines}).
 */
public final class SseMasker {
    private enum Kind { TEXT, ARGS }

    /** A streamed string in one event: where its JSON string token starts in the body, and its text. */
    private record Fragment(int tokenStart, String text) {
    }

    private record Stream(Kind kind, List<Fragment> fragments) {
    }

    /** [start, end) of the body becomes text. */
    private record Edit(int start, int end, String text) {
    }

    /** A fragment found in an event, before it is known to which stream it belongs. */
    private record Pending(String key, Kind kind, Fragment fragment) {
    }

    /** The streamed-text members of a delta, in the order streams are registered. */
    private static final List<String> DELTA_TEXT = List.of("content", "reasoning_content", "reasoning", "refusal");
    private static final List<String> ANTHROPIC_FIELDS = List.of("text", "thinking", "partial_json");

    private final JsonFactory factory = JsonFactory.builder().build();
    private final Redactor redactor;
    private final JsonMasker json;

    private final StreamShapes shapes;
    private final SplitValueCheck splitValues;
    /** The first member of each two-member text path of {@link StreamShapes#sseTextPaths} ("token" of "token.text"). */
    private final Map<String, String> pathTails = new HashMap<>();
    /** {@link StreamShapes#tokenDataMembers}, asked once: every member of every event is looked up in it. */
    private final List<String> tokenDataMembers;

    public SseMasker(Redactor redactor, JsonMasker json, StreamShapes shapes) {
        this.redactor = redactor;
        this.json = json;
        this.shapes = shapes;
        this.splitValues = new SplitValueCheck(redactor);
        this.tokenDataMembers = List.copyOf(shapes.tokenDataMembers());
        for (String p : shapes.sseTextPaths()) {
            int dot = p.indexOf('.');
            pathTails.put(p.substring(0, dot), p.substring(dot + 1));
        }
    }

    /** The masked stream; the same string when nothing was masked. */
    public String mask(String text, MaskTally tally, Runnable deadlineCheck) {
        return SseOtherLines.mask(new Pass(text, tally, deadlineCheck).run(), redactor, tally);
    }

    /** An event: {@code [rawStart, rawEnd)} of the body, and where its data values are. */
    private static final class Event {
        final int rawStart;
        int rawEnd;
        /** Data values (after "data:" and one optional space, without the line break), as start/end pairs. */
        int[] segs = new int[2];
        int segCount;
        /** First non-blank character of a data payload that is a JSON object or array, or -1. */
        int jsonStart = -1;
        boolean skip;

        Event(int rawStart) {
            this.rawStart = rawStart;
        }

        void addSeg(int start, int end) {
            if (2 * segCount + 2 > segs.length) {
                segs = Arrays.copyOf(segs, segs.length * 2);
            }
            segs[2 * segCount] = start;
            segs[2 * segCount + 1] = end;
            segCount++;
        }

        int dataEnd() {
            return segs[2 * segCount - 1];
        }

        /** The data field as the SSE format defines it: the values of the data lines joined by LF. */
        String data(String s) {
            StringBuilder sb = new StringBuilder();
            for (int k = 0; k < segCount; k++) {
                if (k > 0) {
                    sb.append('\n');
                }
                sb.append(s, segs[2 * k], segs[2 * k + 1]);
            }
            return sb.toString();
        }
    }

    /** Thrown when an event's payload is not exactly one JSON value inside that event. */
    private static final class NotOneValue extends Exception {
        NotOneValue() {
            super(null, null, false, false);
        }
    }

    private static final NotOneValue NOT_ONE_VALUE = new NotOneValue();

    /** The state of masking one body; confined to one call. */
    private final class Pass {
        final String text;
        final MaskTally tally;
        final Runnable deadlineCheck;
        final List<Edit> edits = new ArrayList<>();
        final Map<String, Stream> streams = new LinkedHashMap<>();
        final OtherStrings others = new OtherStrings(json);
        // member names of the objects that locate streamed text, innermost last (repeat check)
        String[] names = new String[16];
        int namesTop;
        char[] buf;
        JsonParser parser;
        /** Where the parser's offsets start in the body. */
        int base;
        /** Tokens of the current event must start before this offset. */
        int bound;
        // per event, committed only when the event's payload turned out to be one JSON value
        final List<Edit> eventEdits = new ArrayList<>();
        final List<Pending> eventFragments = new ArrayList<>();
        MaskTally eventTally = new MaskTally();
        final String[] choiceKeys = new String[8 * 5];
        /** Events whose data is plain text: one streamed text (plain-text SSE), reassembled. */
        final List<Event> plainEvents = new ArrayList<>();

        Pass(String text, MaskTally tally, Runnable deadlineCheck) {
            this.text = text;
            this.tally = tally;
            this.deadlineCheck = deadlineCheck;
        }

        String run() {
            rejectBareCarriageReturns(text);
            List<Event> events = parseEvents(text);
            classify(events);
            buf = blanked(events);
            try {
                for (int e = 0; e < events.size(); e++) {
                    Event ev = events.get(e);
                    if (ev.skip) {
                        continue;
                    }
                    if (ev.jsonStart < 0) {
                        plainEvents.add(ev);
                    } else if (!jsonEvent(ev)) {
                        // Masked as text, its JSON escapes (\u0040 for @) would hide values from the
                        // detectors while a client's parser decodes them; its streamed text would also
                        // miss reassembly across events. Data that starts like JSON must be JSON.
                        throw MaskFailure.unscannable("an event's data starts like JSON but is not exactly one JSON value");
                    }
                    if ((e & 63) == 0) {
                        deadlineCheck.run();
                    }
                }
            } finally {
                closeParser();
            }
            for (Stream s : streams.values()) {
                rewrite(s);
            }
            others.check(splitValues);
            maskPlainStream();
            deadlineCheck.run();
            if (edits.isEmpty()) {
                return text;
            }
            edits.sort(Comparator.comparingInt(Edit::start));
            StringBuilder out = new StringBuilder(text.length() + 64);
            int p = 0;
            for (Edit ed : edits) {
                if (ed.start() < p) {
                    throw new IllegalStateException("overlapping rewrites of one event");
                }
                out.append(text, p, ed.start()).append(ed.text());
                p = ed.end();
            }
            return out.append(text, p, text.length()).toString();
        }

        /** Decides per event: no data or [DONE] (skip), a JSON object/array payload, or text. */
        void classify(List<Event> events) {
            for (Event ev : events) {
                if (ev.segCount == 0) {
                    ev.skip = true;
                    continue;
                }
                int first = firstNonBlank(ev);
                char c = first < 0 ? 0 : text.charAt(first);
                if (c == '[' && ev.data(text).strip().equals("[DONE]")) {
                    ev.skip = true;
                } else if ((c == '{' || c == '[') && onlyJsonSpaceBefore(ev, first)) {
                    ev.jsonStart = first;
                }
            }
        }

        /**
         * True when the data before {@code first} is JSON whitespace (a parser rejects other
         * Unicode spaces such as U+2003, so such data is not JSON: it is masked as text).
         */
        boolean onlyJsonSpaceBefore(Event ev, int first) {
            for (int k = 0; k < ev.segCount && ev.segs[2 * k] <= first; k++) {
                for (int i = ev.segs[2 * k]; i < Math.min(first, ev.segs[2 * k + 1]); i++) {
                    char c = text.charAt(i);
                    if (c != ' ' && c != '\t' && c != '\r') {
                        return false;
                    }
                }
            }
            return true;
        }

        /** First character of the data that is not whitespace (as String.strip sees it), or -1. */
        int firstNonBlank(Event ev) {
            for (int k = 0; k < ev.segCount; k++) {
                for (int i = ev.segs[2 * k]; i < ev.segs[2 * k + 1]; i++) {
                    if (!Character.isWhitespace(text.charAt(i))) {
                        return i;
                    }
                }
            }
            return -1;
        }

        /**
         * The body with everything but the JSON payloads blanked to spaces, line breaks kept (a JSON
         * string cannot cross one, so no token can run from one line into another).
         */
        char[] blanked(List<Event> events) {
            char[] b = text.toCharArray();
            for (Event ev : events) {
                int p = ev.rawStart;
                if (ev.jsonStart >= 0) {
                    for (int k = 0; k < ev.segCount; k++) {
                        blank(b, p, ev.segs[2 * k]);
                        p = ev.segs[2 * k + 1];
                    }
                }
                blank(b, p, ev.rawEnd);
            }
            return b;
        }

        /**
         * Masks the event's payload as JSON; false (and nothing recorded) when the payload is not
         * exactly one JSON value inside this event.
         */
        boolean jsonEvent(Event ev) {
            bound = ev.dataEnd();
            others.nextEvent();
            try {
                if (parser == null) {
                    parser = factory.createParser(buf, ev.jsonStart, buf.length - ev.jsonStart);
                    base = 0;
                    JsonToken t = parser.nextToken();
                    // Jackson reports offsets from the start of the array or from the given offset
                    // depending on version: calibrate on the first token, whose place is known.
                    long raw = ((ParserBase) parser).getTokenCharacterOffset();
                    base = ev.jsonStart - (int) raw;
                    rootValue(ev, t);
                } else {
                    rootValue(ev, parser.nextToken());
                }
                int end = offset() + 1;
                for (int i = end; i < bound; i++) {
                    char c = buf[i];
                    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                        throw NOT_ONE_VALUE;
                    }
                }
            } catch (IOException | NotOneValue notOneValue) {
                closeParser();
                eventEdits.clear();
                eventFragments.clear();
                eventTally = new MaskTally();
                return false;
            }
            edits.addAll(eventEdits);
            for (Pending f : eventFragments) {
                streams.computeIfAbsent(f.key(), k -> new Stream(f.kind(), new ArrayList<>())).fragments().add(f.fragment());
            }
            eventEdits.clear();
            eventFragments.clear();
            if (!eventTally.isEmpty()) {
                tally.addAll(eventTally);
                eventTally = new MaskTally();
            }
            return true;
        }

        void rootValue(Event ev, JsonToken t) throws IOException, NotOneValue {
            namesTop = 0;
            if (t == null || offset() != ev.jsonStart || offset() >= bound) {
                throw NOT_ONE_VALUE;
            }
            if (t == JsonToken.START_OBJECT) {
                root();
            } else {
                generic(t, null);
            }
        }

        void closeParser() {
            if (parser != null) {
                try {
                    parser.close();
                } catch (IOException ignored) {
                    // a parser over an array holds no resource
                }
                parser = null;
            }
        }

        /** The offset in the body where the current token starts. */
        int offset() {
            return base + (int) ((ParserBase) parser).getTokenCharacterOffset();
        }

        JsonToken next() throws IOException, NotOneValue {
            JsonToken t = parser.nextToken();
            if (t == null || offset() >= bound) {
                throw NOT_ONE_VALUE;
            }
            return t;
        }

        /** Reads the next member name of an object, or null at its end. */
        String nextName() throws IOException, NotOneValue {
            return next() == JsonToken.END_OBJECT ? null : parser.currentName();
        }

        /**
         * Reads the next member name of an object that locates streamed text and fails closed when
         * it repeats one since {@code mark}; at the object's end, forgets its names and returns null.
         */
        String nextName(int mark) throws IOException, NotOneValue {
            if (next() == JsonToken.END_OBJECT) {
                namesTop = mark;
                return null;
            }
            String name = parser.currentName();
            for (int i = mark; i < namesTop; i++) {
                if (names[i].equals(name)) {
                    throw MaskFailure.unscannable("a streamed event repeats a member name");
                }
            }
            if (namesTop == names.length) {
                names = Arrays.copyOf(names, names.length * 2);
            }
            names[namesTop++] = name;
            return name;
        }

        /** The next member value; per-token data (logprobs) is noted as the old walk did. */
        JsonToken value(String name) throws IOException, NotOneValue {
            JsonToken t = next();
            if (tokenDataMembers.contains(name) && t != JsonToken.VALUE_NULL) {
                eventTally.sawTokenData();
            }
            return t;
        }

        /** The event object: choices, Responses deltas, Anthropic content_block_delta. */
        void root() throws IOException, NotOneValue {
            int seen = namesTop;
            List<Pending> choices = new ArrayList<>(2);
            String type = "";
            String[] responseKey = {"", "", ""};
            Fragment stringDelta = null;
            Fragment[] objectDelta = null;
            Integer index = 0;
            boolean indexInvalid = false;
            String name;
            while ((name = nextName(seen)) != null) {
                JsonToken t = value(name);
                switch (name) {
                    case "choices" -> {
                        if (t == JsonToken.START_ARRAY) {
                            choices(choices);
                        } else {
                            generic(t, name);
                        }
                    }
                    case "type", "item_id", "output_index", "content_index" -> {
                        String v = t.isScalarValue() ? parser.getText() : "";
                        if (t == JsonToken.VALUE_STRING) {
                            maskOther(name);
                        } else {
                            generic(t, name);
                        }
                        switch (name) {
                            case "type" -> type = t == JsonToken.VALUE_STRING ? v : "";
                            case "item_id" -> responseKey[0] = v;
                            case "output_index" -> responseKey[1] = v;
                            default -> responseKey[2] = v;
                        }
                    }
                    case "index" -> {
                        index = intValue(t);
                        indexInvalid = index == null;
                        generic(t, name);
                    }
                    case "delta" -> {
                        if (t == JsonToken.VALUE_STRING) {
                            stringDelta = new Fragment(offset(), parser.getText());
                        } else if (t == JsonToken.START_OBJECT) {
                            objectDelta = anthropicDelta();
                        } else {
                            generic(t, name);
                        }
                    }
                    default -> {
                        String tail = pathTails.get(name);
                        if (tail != null && t == JsonToken.START_OBJECT) {
                            pathObject(name, tail);
                        } else {
                            generic(t, name);
                        }
                    }
                }
            }
            eventFragments.addAll(choices);
            boolean responses = type.startsWith("response.") && type.endsWith(".delta");
            if (stringDelta != null) {
                if (responses) {
                    String key = "r" + type + ":" + responseKey[0] + ":" + responseKey[1] + ":" + responseKey[2];
                    eventFragments.add(new Pending(key, type.contains("arguments") ? Kind.ARGS : Kind.TEXT, stringDelta));
                } else {
                    maskOther("delta", "delta", stringDelta);
                }
            }
            if (objectDelta != null) {
                boolean anthropic = type.equals("content_block_delta");
                for (int k = 0; k < ANTHROPIC_FIELDS.size(); k++) {
                    Fragment f = objectDelta[k];
                    if (f == null) {
                        continue;
                    }
                    if (anthropic) {
                        if (indexInvalid) {
                            throw MaskFailure.unscannable("a streamed event's index is not an integer");
                        }
                        String key = "a" + index + ":" + (k == 0 ? "text" : k == 1 ? "thinking" : "json");
                        eventFragments.add(new Pending(key, k == 2 ? Kind.ARGS : Kind.TEXT, f));
                    } else {
                        maskOther("delta." + ANTHROPIC_FIELDS.get(k), ANTHROPIC_FIELDS.get(k), f);
                    }
                }
            }
        }

        /** A root member holding streamed text in its {@code tail} member (TGI "token": {"text": …}). */
        void pathObject(String head, String tail) throws IOException, NotOneValue {
            int seen = namesTop;
            String name;
            while ((name = nextName(seen)) != null) {
                JsonToken t = value(name);
                if (name.equals(tail) && t == JsonToken.VALUE_STRING) {
                    eventFragments.add(new Pending("p:" + head + "." + tail, Kind.TEXT, new Fragment(offset(), parser.getText())));
                } else {
                    generic(t, name);
                }
            }
        }

        /** An object-valued root "delta": its text/thinking/partial_json strings, decided on later. */
        Fragment[] anthropicDelta() throws IOException, NotOneValue {
            int seen = namesTop;
            Fragment[] found = new Fragment[ANTHROPIC_FIELDS.size()];
            String name;
            while ((name = nextName(seen)) != null) {
                JsonToken t = value(name);
                int k = ANTHROPIC_FIELDS.indexOf(name);
                if (k >= 0 && t == JsonToken.VALUE_STRING) {
                    found[k] = new Fragment(offset(), parser.getText());
                } else {
                    generic(t, name);
                }
            }
            return found;
        }

        void choices(List<Pending> out) throws IOException, NotOneValue {
            JsonToken t;
            for (int k = 0; (t = next()) != JsonToken.END_ARRAY; k++) {
                if (t == JsonToken.START_OBJECT) {
                    choice(k, out);
                } else {
                    generic(t, "choices");
                }
            }
        }

        /** One choice; its index may come after its delta, so its streams are keyed at its end. */
        void choice(int position, List<Pending> out) throws IOException, NotOneValue {
            int seen = namesTop;
            Fragment text = null;
            Fragment[] delta = null;
            List<int[]> callIndexes = new ArrayList<>(0);
            List<Fragment> calls = new ArrayList<>(0);
            Integer index = position;
            boolean indexInvalid = false;
            String name;
            while ((name = nextName(seen)) != null) {
                JsonToken t = value(name);
                switch (name) {
                    case "index" -> {
                        index = intValue(t);
                        indexInvalid = index == null;
                        generic(t, name);
                    }
                    case "text" -> {
                        if (t == JsonToken.VALUE_STRING) {
                            text = new Fragment(offset(), parser.getText());
                        } else {
                            generic(t, name);
                        }
                    }
                    case "delta" -> {
                        if (t == JsonToken.START_OBJECT) {
                            delta = delta(callIndexes, calls);
                        } else {
                            generic(t, name);
                        }
                    }
                    default -> generic(t, name);
                }
            }
            boolean streamed = text != null || !calls.isEmpty();
            for (int k = 0; delta != null && k < delta.length; k++) {
                streamed |= delta[k] != null;
            }
            if (!streamed) {
                return;
            }
            if (indexInvalid) {
                throw MaskFailure.unscannable("a streamed event's index is not an integer");
            }
            if (text != null) {
                out.add(new Pending(choiceKey(index, 0), Kind.TEXT, text));
            }
            if (delta != null) {
                for (int k = 0; k < DELTA_TEXT.size(); k++) {
                    if (delta[k] != null) {
                        out.add(new Pending(choiceKey(index, k + 1), Kind.TEXT, delta[k]));
                    }
                }
            }
            for (int c = 0; c < calls.size(); c++) {
                int[] ci = callIndexes.get(c);
                if (ci[1] != 0) {
                    throw MaskFailure.unscannable("a streamed tool call's index is not an integer");
                }
                out.add(new Pending("t" + index + ":" + ci[0], Kind.ARGS, calls.get(c)));
            }
        }

        /** "c{index}:{field}" for a choice's text (0) or delta field (1 + its place in DELTA_TEXT). */
        String choiceKey(int index, int field) {
            if (index >= 0 && index < 8) {
                String k = choiceKeys[index * 5 + field];
                if (k == null) {
                    k = "c" + index + ":" + (field == 0 ? "text" : DELTA_TEXT.get(field - 1));
                    choiceKeys[index * 5 + field] = k;
                }
                return k;
            }
            return "c" + index + ":" + (field == 0 ? "text" : DELTA_TEXT.get(field - 1));
        }

        /** A choice's delta: streamed text members and tool calls; the rest is masked in place. */
        Fragment[] delta(List<int[]> callIndexes, List<Fragment> calls) throws IOException, NotOneValue {
            int seen = namesTop;
            Fragment[] found = new Fragment[DELTA_TEXT.size()];
            String name;
            while ((name = nextName(seen)) != null) {
                JsonToken t = value(name);
                int k = DELTA_TEXT.indexOf(name);
                if (k >= 0 && t == JsonToken.VALUE_STRING) {
                    found[k] = new Fragment(offset(), parser.getText());
                } else if (name.equals("tool_calls") && t == JsonToken.START_ARRAY) {
                    int c = 0;
                    while ((t = next()) != JsonToken.END_ARRAY) {
                        if (t == JsonToken.START_OBJECT) {
                            toolCall(c, callIndexes, calls);
                        } else {
                            generic(t, name);
                        }
                        c++;
                    }
                } else {
                    generic(t, name);
                }
            }
            return found;
        }

        void toolCall(int position, List<int[]> callIndexes, List<Fragment> calls) throws IOException, NotOneValue {
            int seen = namesTop;
            Integer index = position;
            Fragment args = null;
            String name;
            while ((name = nextName(seen)) != null) {
                JsonToken t = value(name);
                if (name.equals("index")) {
                    index = intValue(t);
                    generic(t, name);
                } else if (name.equals("function") && t == JsonToken.START_OBJECT) {
                    int fnSeen = namesTop;
                    String fn;
                    while ((fn = nextName(fnSeen)) != null) {
                        JsonToken v = value(fn);
                        if (fn.equals("arguments") && v == JsonToken.VALUE_STRING) {
                            args = new Fragment(offset(), parser.getText());
                        } else {
                            generic(v, fn);
                        }
                    }
                } else {
                    generic(t, name);
                }
            }
            if (args != null) {
                callIndexes.add(new int[] {index == null ? 0 : index, index == null ? 1 : 0});
                calls.add(args);
            }
        }

        /** An index member: its int value, or null when it is anything else (then ambiguous). */
        Integer intValue(JsonToken t) throws IOException {
            if (t == JsonToken.VALUE_NUMBER_INT && parser.getNumberType() == JsonParser.NumberType.INT) {
                return parser.getIntValue();
            }
            return null;
        }

        /** Masks every string of a value that belongs to no stream, in place. */
        void generic(JsonToken t, String field) throws IOException, NotOneValue {
            switch (t) {
                case VALUE_STRING -> maskOther(field);
                case START_OBJECT -> {
                    String name;
                    while ((name = nextName()) != null) {
                        generic(value(name), name);
                    }
                }
                case START_ARRAY -> {
                    JsonToken v;
                    while ((v = next()) != JsonToken.END_ARRAY) {
                        generic(v, field);
                    }
                }
                case VALUE_NUMBER_INT -> maskNumber(field);
                default -> {
                    // fractions and literals are never masked
                }
            }
        }

        /** A card or an SSN sent as a JSON integer is masked as the JSON walk masks it: it becomes a string. */
        void maskNumber(String field) throws IOException {
            String v = parser.getText();
            String m = others.maskCached(field, v, eventTally);
            if (m.equals(v)) {
                return;
            }
            int start = offset();
            for (int i = 0; i < v.length(); i++) {
                if (buf[start + i] != v.charAt(i)) {
                    throw new IllegalStateException("a number token was not where the parser reported it");
                }
            }
            eventEdits.add(new Edit(start, start + v.length(), "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(m)) + "\""));
        }

        void maskOther(String field) throws IOException {
            String m = others.mask(parser, field, eventTally);
            if (m != null) {
                eventEdits.add(replaceString(offset(), m));
            }
        }

        /** A string of the event object read before its place was known (a root "delta" outside the known streams). */
        void maskOther(String path, String field, Fragment f) {
            String m = others.mask(path, field, f.text(), eventTally);
            if (m != null) {
                eventEdits.add(replaceString(f.tokenStart(), m));
            }
        }

        /** The JSON string token starting at {@code start} becomes the string {@code value}. */
        Edit replaceString(int start, String value) {
            if (buf[start] != '"') {
                throw new IllegalStateException("a string token was not where the parser reported it");
            }
            int i = start + 1;
            while (buf[i] != '"') {
                i += buf[i] == '\\' ? 2 : 1;
            }
            String quoted = "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(value)) + "\"";
            return new Edit(start, i + 1, quoted);
        }

        /**
         * Plain-text events are the pieces of one streamed text (clients append each event's data):
         * scanned whole, the tokens land in the event where each value started.
         */
        void maskPlainStream() {
            if (plainEvents.isEmpty()) {
                return;
            }
            List<String> data = new ArrayList<>(plainEvents.size());
            for (Event ev : plainEvents) {
                String d = ev.data(text);
                if (d.contains("\\u")) {
                    // e.g. a bare JSON string, or JSON behind a non-JSON space: a client may decode the
                    // escapes the detectors cannot see through.
                    throw MaskFailure.unscannable("an event's non-JSON data carries JSON unicode escapes");
                }
                data.add(d);
            }
            List<Replacement> plan = redactor.plan(String.join("", data), tally);
            if (plan.isEmpty()) {
                return;
            }
            List<String> out = StreamText.distribute(data, plan);
            for (int k = 0; k < plainEvents.size(); k++) {
                if (!out.get(k).equals(data.get(k))) {
                    writeData(plainEvents.get(k), out.get(k));
                }
            }
        }

        /** The event's data lines written anew with {@code masked}, where the first one was; other lines stay. */
        void writeData(Event ev, String masked) {
            // the data lines are written anew where the first one was; other lines stay
            StringBuilder out = new StringBuilder(masked.length() + 64);
            boolean written = false;
            int i = ev.rawStart;
            while (i < ev.rawEnd) {
                int nl = text.indexOf('\n', i);
                int lineEnd = nl < 0 || nl >= ev.rawEnd ? ev.rawEnd : nl;
                int next = lineEnd < ev.rawEnd ? lineEnd + 1 : ev.rawEnd;
                int le = lineEnd > i && text.charAt(lineEnd - 1) == '\r' ? lineEnd - 1 : lineEnd;
                if (le > i) {
                    if (!text.startsWith("data:", i) || le - i < 5) {
                        out.append(text, i, le).append('\n');
                    } else if (!written) {
                        for (String d : masked.split("\n", -1)) {
                            out.append("data: ").append(d).append('\n');
                        }
                        written = true;
                    }
                }
                i = next;
            }
            out.append('\n');
            edits.add(new Edit(ev.rawStart, ev.rawEnd, out.toString()));
        }

        void rewrite(Stream s) {
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
                        edits.add(replaceString(frags.get(i).tokenStart(), i == 0 ? masked : ""));
                    }
                }
                return;
            }
            List<Replacement> plan = redactor.plan(w, tally);
            if (plan.isEmpty()) {
                return;
            }
            List<String> texts = new ArrayList<>(frags.size());
            for (Fragment f : frags) {
                texts.add(f.text());
            }
            List<String> out = StreamText.distribute(texts, plan);
            for (int i = 0; i < frags.size(); i++) {
                if (!out.get(i).equals(frags.get(i).text())) {
                    edits.add(replaceString(frags.get(i).tokenStart(), out.get(i)));
                }
            }
        }
    }

    private static void blank(char[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] != '\n') {
                b[i] = ' ';
            }
        }
    }

    /**
     * The SSE format also allows a bare CR as a line end; clients that honour it would see events
     * and data lines this reader (LF and CRLF) does not. Model servers do not send it: fail closed.
     */
    private static void rejectBareCarriageReturns(String s) {
        for (int i = s.indexOf('\r'); i >= 0; i = s.indexOf('\r', i + 1)) {
            if (i + 1 >= s.length() || s.charAt(i + 1) != '\n') {
                throw MaskFailure.unscannable("the event stream uses bare CR line ends");
            }
        }
    }

    /** Events as the SSE format delimits them: by empty lines (LF or CRLF line ends; a leading BOM is skipped, as clients do). */
    private static List<Event> parseEvents(String s) {
        List<Event> events = new ArrayList<>();
        int n = s.length();
        int i = s.startsWith("\uFEFF") ? 1 : 0;
        Event cur = new Event(0);
        while (i < n) {
            int nl = s.indexOf('\n', i);
            int lineEnd = nl < 0 ? n : nl;
            int next = nl < 0 ? n : nl + 1;
            int le = lineEnd > i && s.charAt(lineEnd - 1) == '\r' ? lineEnd - 1 : lineEnd;
            if (le == i) {
                cur.rawEnd = next;
                events.add(cur);
                cur = new Event(next);
            } else if (le - i >= 5 && s.startsWith("data:", i)) {
                int vs = i + 5;
                if (vs < le && s.charAt(vs) == ' ') {
                    vs++;
                }
                cur.addSeg(vs, le);
            }
            i = next;
        }
        if (cur.rawStart < n) {
            cur.rawEnd = n;
            events.add(cur);
        }
        return events;
    }
}

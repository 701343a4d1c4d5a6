package io.inferencepam.pam.mask;

import static io.inferencepam.pam.mask.MaskTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.mask.RecallCorpus.Doc;
import io.inferencepam.pam.mask.RecallCorpus.Label;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Plugin;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Recall and damage of pam-mask end to end (the real plugin, conf compiled by the runtime) on the
 * seeded {@link RecallCorpus}, per value type × language × form (content kind and wire format).
 * Each document is sent in every wire format — text/plain, chat JSON, OpenAI SSE, Ollama NDJSON, TGI
 * generate_stream, plain-text SSE, UTF-16 text, and tool calls (JSON and streamed) — with streams
 * cut at seeded random places. A labelled value is recalled when its spelling is absent from what a
 * client reads (strings decoded and each stream reassembled); a response withheld (fail closed)
 * leaks nothing and is counted apart. A look-alike is damaged when it is absent. The tables go to
 * docs/plugins/pam-mask.md; the floors are the figures reached, so a regression fails the test.
 */
class MaskRecallTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> WIRES = List.of("text", "json", "sse", "ndjson", "tgi", "plain-sse", "utf16", "tool-json", "tool-sse");

    /** Counts per table cell. */
    static final class Cell {
        int total;
        int hit;

        void add(boolean ok) {
            total++;
            if (ok) {
                hit++;
            }
        }

        double rate() {
            return total == 0 ? 1 : (double) hit / total;
        }

        String show() {
            return total == 0 ? "–" : String.format("%.3f", rate());
        }
    }

    record Result(Map<String, Cell> recall, Map<String, Cell> damage, Map<String, Cell> withheld, List<String> misses) {
        Cell cell(Map<String, Cell> m, String key) {
            return m.computeIfAbsent(key, k -> new Cell());
        }
    }

    static List<String> wiresFor(Doc d) {
        return d.kind().equals("toolcall") ? List.of("tool-json", "tool-sse", "text", "json")
                : WIRES.subList(0, 7);
    }

    @Test
    void recallAndDamagePerTypeLanguageAndForm() throws Exception {
        List<Doc> docs = new RecallCorpus(20261207L).generate(8);
        Plugin plugin = plugin("{\"count_header\":true}");
        Result res = run(plugin, docs);
        print(res, docs.size());
        // the goal of issue 13, reached: recall >= 0.98 in every cell of type x language, type x wire
        // format and type x content kind, no look-alike damaged, and nothing withheld but plain-text
        // SSE whose data carries JSON unicode escapes (fail closed by design)
        assertThat(rate(res.recall(), "all")).isGreaterThanOrEqualTo(FLOOR_ALL);
        res.recall().forEach((cell, c) -> assertThat(c.rate()).as("recall " + cell).isGreaterThanOrEqualTo(FLOOR_CELL));
        assertThat(rate(res.damage(), "all")).as("look-alikes intact").isEqualTo(1.0);
        res.withheld().forEach((wire, c) -> {
            if (!wire.equals("plain-sse") && !wire.equals("all")) {
                assertThat(c.hit).as("withheld " + wire).isZero();
            }
        });
    }

    static final double FLOOR_ALL = 0.998;
    static final double FLOOR_CELL = 0.98;

    static double rate(Map<String, Cell> m, String key) {
        return m.getOrDefault(key, new Cell()).rate();
    }

    static Result run(Plugin plugin, List<Doc> docs) throws Exception {
        Result res = new Result(new TreeMap<>(), new TreeMap<>(), new TreeMap<>(), new ArrayList<>());
        for (Doc d : docs) {
            Random rnd = new Random(d.id() * 31L + 7);
            for (String wire : wiresFor(d)) {
                byte[] body;
                String ct;
                switch (wire) {
                    case "text" -> {
                        body = utf8(d.text());
                        ct = "text/plain; charset=utf-8";
                    }
                    case "utf16" -> {
                        body = d.text().getBytes(StandardCharsets.UTF_16LE);
                        ct = "text/plain; charset=utf-16le";
                    }
                    case "json" -> {
                        body = utf8(chatJson(d.text()));
                        ct = "application/json";
                    }
                    case "tool-json" -> {
                        body = utf8(toolJson(d.text()));
                        ct = "application/json";
                    }
                    default -> {
                        body = utf8(stream(wire, d.text(), rnd));
                        ct = wire.equals("ndjson") ? "application/x-ndjson" : "text/event-stream";
                    }
                }
                HttpResponse out = MaskTestSupport.run(plugin, response(ct, body), context());
                boolean withheld = out.status() != 200;
                res.cell(res.withheld(), wire).add(withheld);
                res.cell(res.withheld(), "all").add(withheld);
                String seen = withheld ? "" : visible(wire, out.body().orElseThrow().toByteArray(), ct);
                for (Label l : d.labels()) {
                    boolean ok = withheld || !seen.contains(l.surface());
                    for (String k : List.of("all", "type:" + l.type(), "lang:" + d.lang(), "kind:" + d.kind(), "wire:" + wire,
                            l.type() + "|" + d.lang(), l.type() + "|" + wire, l.type() + "|" + d.kind())) {
                        res.cell(res.recall(), k).add(ok);
                    }
                    if (!ok) {
                        res.misses().add(l.type() + " " + d.lang() + " " + d.kind() + " " + wire + " «" + l.surface() + "»");
                    }
                }
                if (!withheld) {
                    for (String look : d.lookalikes()) {
                        boolean intact = seen.contains(look);
                        for (String k : List.of("all", "lang:" + d.lang(), "wire:" + wire, "look:" + lookClass(look))) {
                            res.cell(res.damage(), k).add(intact);
                        }
                        if (!intact) {
                            res.misses().add("DAMAGED " + d.lang() + " " + d.kind() + " " + wire + " «" + look + "»");
                        }
                    }
                }
            }
        }
        return res;
    }

    static String lookClass(String look) {
        if (look.startsWith("git@")) {
            return "git remote";
        }
        if (look.startsWith("Chrome/") || look.matches("\\d+\\.\\d+\\.0\\.\\d")) {
            return "version";
        }
        if (look.startsWith("127.") || look.equals("0.0.0.0") || look.equals("::1")) {
            return "loopback/unspecified";
        }
        if (look.startsWith("192.0.2.") || look.startsWith("198.51.100.") || look.startsWith("203.0.113.") || look.startsWith("2001:db8")) {
            return "documentation IP";
        }
        return "id/date/number";
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String chatJson(String text) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("id", "chatcmpl-1").put("object", "chat.completion").put("model", "m");
        root.putArray("choices").addObject().put("index", 0).putObject("message").put("role", "assistant").put("content", text);
        return root.toString();
    }

    static String toolJson(String args) {
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("id", "chatcmpl-1").put("object", "chat.completion");
        ObjectNode msg = root.putArray("choices").addObject().put("index", 0).putObject("message");
        msg.put("role", "assistant").putNull("content");
        msg.putArray("tool_calls").addObject().put("id", "call_1").put("type", "function")
                .putObject("function").put("name", "crm_update").put("arguments", args);
        return root.toString();
    }

    /** The text cut at random places into 1–9 character pieces. */
    static List<String> pieces(String text, Random rnd) {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < text.length()) {
            int n = Math.min(text.length() - i, 1 + rnd.nextInt(9));
            if (Character.isHighSurrogate(text.charAt(i + n - 1)) && i + n < text.length()) {
                n++;
            }
            out.add(text.substring(i, i + n));
            i += n;
        }
        return out;
    }

    static String stream(String wire, String text, Random rnd) {
        StringBuilder b = new StringBuilder();
        for (String p : pieces(text, rnd)) {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            switch (wire) {
                case "sse" -> {
                    o.put("id", "chatcmpl-1").put("object", "chat.completion.chunk");
                    o.putArray("choices").addObject().put("index", 0).putObject("delta").put("content", p);
                    b.append("data: ").append(o).append("\n\n");
                }
                case "tool-sse" -> {
                    o.put("id", "chatcmpl-1").put("object", "chat.completion.chunk");
                    o.putArray("choices").addObject().put("index", 0).putObject("delta").putArray("tool_calls").addObject()
                            .put("index", 0).putObject("function").put("arguments", p);
                    b.append("data: ").append(o).append("\n\n");
                }
                case "ndjson" -> {
                    o.put("model", "llama3").put("created_at", "2026-01-01T00:00:00Z");
                    o.putObject("message").put("role", "assistant").put("content", p);
                    o.put("done", false);
                    b.append(o).append('\n');
                }
                case "tgi" -> {
                    o.putObject("token").put("id", 42).put("text", p).put("logprob", -0.25).put("special", false);
                    o.putNull("generated_text").putNull("details");
                    b.append("data:").append(o).append("\n\n");
                }
                case "plain-sse" -> {
                    if (p.contains("\n")) {
                        // plain-text SSE servers send a line break as an extra data line
                        String[] lines = p.split("\n", -1);
                        b.append("data: ").append(String.join("\ndata: ", lines)).append("\n\n");
                    } else {
                        b.append("data: ").append(p).append("\n\n");
                    }
                }
                default -> throw new IllegalArgumentException(wire);
            }
        }
        if (wire.equals("ndjson")) {
            b.append("{\"model\":\"llama3\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true}\n");
        } else if (wire.equals("tgi")) {
            ObjectNode o = JsonNodeFactory.instance.objectNode();
            o.putObject("token").put("id", 2).put("text", "").put("logprob", 0).put("special", true);
            o.put("generated_text", text).putNull("details");
            b.append("data:").append(o).append("\n\n");
        } else if (!wire.equals("plain-sse")) {
            b.append("data: [DONE]\n\n");
        }
        return b.toString();
    }

    /**
     * What a client reads: the text; every JSON string (keys and numbers too) with the strings at
     * one path concatenated across events (a streamed value is read whole); plain SSE data joined.
     */
    static String visible(String wire, byte[] body, String ct) throws Exception {
        switch (wire) {
            case "text":
                return new String(body, StandardCharsets.UTF_8);
            case "utf16":
                return new String(body, Charset.forName("UTF-16LE"));
            case "plain-sse": {
                StringBuilder b = new StringBuilder();
                for (String ev : new String(body, StandardCharsets.UTF_8).split("\n\n")) {
                    List<String> data = new ArrayList<>();
                    for (String line : ev.split("\n")) {
                        if (line.startsWith("data:")) {
                            data.add(line.substring(line.startsWith("data: ") ? 6 : 5));
                        }
                    }
                    b.append(String.join("\n", data));
                }
                return b.toString();
            }
            default: {
                Map<String, StringBuilder> paths = new LinkedHashMap<>();
                String s = new String(body, StandardCharsets.UTF_8);
                List<String> docs = new ArrayList<>();
                if (wire.equals("json") || wire.equals("tool-json")) {
                    docs.add(s);
                } else if (wire.equals("ndjson")) {
                    docs.addAll(List.of(s.split("\n")));
                } else {
                    for (String line : s.split("\n")) {
                        if (line.startsWith("data:") && !line.contains("[DONE]")) {
                            docs.add(line.substring(5));
                        }
                    }
                }
                for (String d : docs) {
                    if (!d.isBlank()) {
                        collect(JSON.readTree(d), "", paths);
                    }
                }
                StringBuilder all = new StringBuilder();
                paths.values().forEach(v -> all.append(v).append('\n'));
                return all.toString();
            }
        }
    }

    static void collect(JsonNode n, String path, Map<String, StringBuilder> out) {
        if (n.isObject()) {
            n.fields().forEachRemaining(e -> {
                out.computeIfAbsent(path + "#keys", k -> new StringBuilder()).append(e.getKey()).append('\n');
                collect(e.getValue(), path + "." + e.getKey(), out);
            });
        } else if (n.isArray()) {
            n.forEach(x -> collect(x, path + "[]", out));
        } else if (n.isTextual()) {
            out.computeIfAbsent(path, k -> new StringBuilder()).append(n.textValue());
        } else if (n.isNumber()) {
            out.computeIfAbsent(path + "#num", k -> new StringBuilder()).append(n.asText()).append('\n');
        }
    }

    static void print(Result res, int docs) {
        StringBuilder b = new StringBuilder("\npam-mask recall corpus: " + docs + " documents, recall "
                + res.recall().get("all").show() + " of " + res.recall().get("all").total + " labelled values; look-alikes intact "
                + res.damage().get("all").show() + " of " + res.damage().get("all").total + "\n");
        List<String> types = res.recall().keySet().stream().filter(k -> k.startsWith("type:")).map(k -> k.substring(5)).toList();
        b.append(table("Recall per type and language", types, RecallCorpus.LANGS, res.recall(), "lang:"));
        List<String> wires = new ArrayList<>();
        for (String w : WIRES) {
            if (res.recall().containsKey("wire:" + w)) {
                wires.add(w);
            }
        }
        b.append(table("Recall per type and wire format", types, wires, res.recall(), "wire:"));
        b.append(table("Recall per type and content kind", types, RecallCorpus.KINDS, res.recall(), "kind:"));
        b.append("\n#### Look-alikes left intact\n\n| class | intact |\n|---|---|\n");
        res.damage().forEach((k, c) -> {
            if (k.startsWith("look:")) {
                b.append("| ").append(k.substring(5)).append(" | ").append(c.show()).append(" (").append(c.total).append(") |\n");
            }
        });
        b.append("\n#### Responses withheld (fail closed) per wire format\n\n| wire | withheld |\n|---|---|\n");
        res.withheld().forEach((k, c) -> b.append("| ").append(k).append(" | ").append(c.hit).append(" / ").append(c.total).append(" |\n"));
        System.out.println(b);
        Map<String, Integer> missCounts = new TreeMap<>();
        for (String m : res.misses()) {
            String[] p = m.split(" ", 5);
            missCounts.merge(p[0] + " " + p[1] + " " + p[2] + " " + p[3], 1, Integer::sum);
        }
        res.misses().stream().limit(Integer.getInteger("pam.recall.misses", 0)).forEach(System.out::println);
        System.out.println("misses by class: " + missCounts);
    }

    static String table(String title, List<String> rows, List<String> cols, Map<String, Cell> m, String colPrefix) {
        StringBuilder b = new StringBuilder("\n#### " + title + "\n\n| type |");
        cols.forEach(c -> b.append(' ').append(c).append(" |"));
        b.append(" all |\n|---|");
        cols.forEach(c -> b.append("---|"));
        b.append("---|\n");
        for (String r : rows) {
            b.append("| ").append(r).append(" |");
            for (String c : cols) {
                b.append(' ').append(m.getOrDefault(r + "|" + c, new Cell()).show()).append(" |");
            }
            b.append(' ').append(m.get("type:" + r).show()).append(" |\n");
        }
        b.append("| **all** |");
        for (String c : cols) {
            b.append(' ').append(m.getOrDefault(colPrefix + c, new Cell()).show()).append(" |");
        }
        b.append(' ').append(m.get("all").show()).append(" |\n");
        return b.toString();
    }

    static final Function<String, String> ID = Function.identity();
}

package io.inferencepam.pam.mask;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.pam.mask.detect.BuiltinDetectors;
import io.inferencepam.pam.mask.detect.DetectorSet;
import io.inferencepam.pam.mask.detect.EmailDetector;
import io.inferencepam.pam.mask.detect.IpDetector;
import io.inferencepam.pam.mask.detect.Match;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Recall and precision per detector on a corpus of realistic model responses with labelled PII
 * (src/test/resources/mask-corpus/corpus.jsonl, made by generate.py with a fixed seed). A found
 * value counts as a true positive when detector and exact value match a label. The table is
 * printed for the doc page; the floors catch regressions.
 */
class MaskCorpusTest {
    record Score(int tp, int fp, int fn) {
        Score plus(Score o) {
            return new Score(tp + o.tp, fp + o.fp, fn + o.fn);
        }

        double recall() {
            return tp + fn == 0 ? 1 : (double) tp / (tp + fn);
        }

        double precision() {
            return tp + fp == 0 ? 1 : (double) tp / (tp + fp);
        }
    }

    @Test
    void recallAndPrecisionPerDetector() throws Exception {
        // this corpus predates not_personal (issue 13): it labels documentation addresses as PII
        DetectorSet set = new DetectorSet(BuiltinDetectors.names().stream().map(n -> switch (n) {
            case "ipv4" -> IpDetector.v4(Set.of());
            case "ipv6" -> IpDetector.v6(Set.of());
            case "email" -> new EmailDetector(Set.of());
            default -> BuiltinDetectors.create(n);
        }).toList(), Set.of());
        ObjectMapper m = new ObjectMapper();
        Map<String, Score> scores = new TreeMap<>();
        List<String> misses = new ArrayList<>();
        int docs = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                getClass().getResourceAsStream("/mask-corpus/corpus.jsonl"), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                docs++;
                JsonNode doc = m.readTree(line);
                String text = doc.get("text").asText();
                List<String> expected = new ArrayList<>();
                doc.get("pii").forEach(p -> expected.add(p.get("detector").asText() + "\u0000" + p.get("value").asText()));
                for (Match found : set.find(text)) {
                    String key = found.detector() + "\u0000" + text.substring(found.start(), found.end());
                    boolean hit = expected.remove(key);
                    scores.merge(found.detector(), new Score(hit ? 1 : 0, hit ? 0 : 1, 0), Score::plus);
                    if (!hit) {
                        misses.add("FP " + doc.get("id").asText() + " " + found.detector());
                    }
                }
                for (String e : expected) {
                    scores.merge(e.substring(0, e.indexOf('\u0000')), new Score(0, 0, 1), Score::plus);
                    misses.add("FN " + doc.get("id").asText() + " " + e.substring(0, e.indexOf('\u0000')));
                }
            }
        }
        StringBuilder table = new StringBuilder("\n| detector | labelled | found | TP | FP | FN | recall | precision |\n|---|---|---|---|---|---|---|---|\n");
        Score total = new Score(0, 0, 0);
        for (var e : scores.entrySet()) {
            Score s = e.getValue();
            total = total.plus(s);
            table.append(row(e.getKey(), s));
        }
        table.append(row("**all**", total));
        System.out.println("pam-mask corpus: " + docs + " documents" + table);
        misses.forEach(System.out::println);
        assertThat(docs).isGreaterThanOrEqualTo(50);
        assertThat(total.precision()).isGreaterThanOrEqualTo(0.97);
        assertThat(total.recall()).isGreaterThanOrEqualTo(0.90);
        scores.forEach((name, s) -> {
            assertThat(s.precision()).as(name + " precision").isGreaterThanOrEqualTo(0.9);
            assertThat(s.recall()).as(name + " recall").isGreaterThanOrEqualTo(name.equals("phone") ? 0.75 : 0.95);
        });
    }

    private static String row(String name, Score s) {
        return String.format("| %s | %d | %d | %d | %d | %d | %.2f | %.2f |%n", name, s.tp + s.fn, s.tp + s.fp, s.tp, s.fp, s.fn,
                s.recall(), s.precision());
    }
}

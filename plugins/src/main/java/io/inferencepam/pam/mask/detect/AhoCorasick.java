package io.inferencepam.pam.mask.detect;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Aho–Corasick automaton over UTF-16 chars: every occurrence of every pattern in one pass, in time
 * linear in the text plus the number of matches. ASCII transitions are a complete DFA table (one
 * array load per char); other chars use a per-node map with failure links.
 *
 * <p>Immutable after construction.
 */
public final class AhoCorasick {
    /** Receives (start, end) of each occurrence. */
    @FunctionalInterface
    public interface Hits {
        void hit(int start, int end);
    }

    private final int[][] ascii;
    private final List<Map<Character, Integer>> other;
    private final int[] fail;
    private final int[] length;
    private final int[] outLink;
    private final boolean ignoreCase;

    public AhoCorasick(List<String> patterns, boolean ignoreCase) {
        this.ignoreCase = ignoreCase;
        List<Map<Character, Integer>> go = new ArrayList<>();
        List<Integer> len = new ArrayList<>();
        go.add(new HashMap<>());
        len.add(0);
        for (String p : patterns) {
            if (p.isEmpty()) {
                continue;
            }
            int node = 0;
            for (int k = 0; k < p.length(); k++) {
                char c = fold(p.charAt(k));
                Integer nx = go.get(node).get(c);
                if (nx == null) {
                    nx = go.size();
                    go.add(new HashMap<>());
                    len.add(0);
                    go.get(node).put(c, nx);
                }
                node = nx;
            }
            len.set(node, p.length());
        }
        int size = go.size();
        fail = new int[size];
        length = new int[size];
        outLink = new int[size];
        ascii = new int[size][];
        for (int i = 0; i < size; i++) {
            length[i] = len.get(i);
        }
        Arrays.fill(outLink, -1);
        ArrayDeque<Integer> queue = new ArrayDeque<>();
        ascii[0] = new int[128];
        for (var e : go.get(0).entrySet()) {
            fail[e.getValue()] = 0;
            queue.add(e.getValue());
        }
        for (char c = 0; c < 128; c++) {
            ascii[0][c] = go.get(0).getOrDefault(c, 0);
        }
        while (!queue.isEmpty()) {
            int node = queue.poll();
            int f = fail[node];
            outLink[node] = length[f] > 0 ? f : outLink[f];
            ascii[node] = new int[128];
            for (char c = 0; c < 128; c++) {
                Integer nx = go.get(node).get(c);
                ascii[node][c] = nx != null ? nx : ascii[f][c];
            }
            for (var e : go.get(node).entrySet()) {
                int child = e.getValue();
                char c = e.getKey();
                fail[child] = c < 128 ? ascii[f][c] : step(go, fail, f, c);
                queue.add(child);
            }
        }
        other = new ArrayList<>(size);
        for (Map<Character, Integer> m : go) {
            Map<Character, Integer> nonAscii = new HashMap<>();
            m.forEach((c, nx) -> {
                if (c >= 128) {
                    nonAscii.put(c, nx);
                }
            });
            other.add(nonAscii.isEmpty() ? Map.of() : Map.copyOf(nonAscii));
        }
    }

    private static int step(List<Map<Character, Integer>> go, int[] fail, int node, char c) {
        while (true) {
            Integer nx = go.get(node).get(c);
            if (nx != null) {
                return nx;
            }
            if (node == 0) {
                return 0;
            }
            node = fail[node];
        }
    }

    private char fold(char c) {
        return ignoreCase ? Character.toLowerCase(c) : c;
    }

    public void scan(String s, Hits hits) {
        int node = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = fold(s.charAt(i));
            if (c < 128) {
                node = ascii[node][c];
            } else {
                while (true) {
                    Integer nx = other.get(node).get(c);
                    if (nx != null) {
                        node = nx;
                        break;
                    }
                    if (node == 0) {
                        break;
                    }
                    node = fail[node];
                }
            }
            for (int o = length[node] > 0 ? node : outLink[node]; o > 0; o = outLink[o]) {
                hits.hit(i + 1 - length[o], i + 1);
            }
        }
    }
}

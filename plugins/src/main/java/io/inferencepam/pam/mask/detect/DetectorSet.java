package io.inferencepam.pam.mask.detect;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeMap;

/**
 * Runs a fixed list of detectors over a text and resolves overlaps: candidates are taken by
 * detector rank (list order), then longest first, and a candidate overlapping an accepted one is
 * dropped. Values on the allow list (compared case-insensitively) are never reported.
 */
public final class DetectorSet {
    /** Detector rank, then longest first, then leftmost. */
    private static final Comparator<Match> BY_PRECEDENCE = (a, b) -> {
        int c = Integer.compare(a.rank(), b.rank());
        if (c == 0) {
            c = Integer.compare(b.length(), a.length());
        }
        return c != 0 ? c : Integer.compare(a.start(), b.start());
    };

    /** Up to this many overlapping candidates are resolved pairwise rather than through a search tree. */
    private static final int SMALL_CLUSTER = 8;

    private static final Comparator<Match> BY_START = (a, b) -> Integer.compare(a.start(), b.start());

    private final List<Detector> detectors;
    private final Set<String> allow;

    public DetectorSet(List<Detector> detectors, Set<String> allowList) {
        this.detectors = List.copyOf(detectors);
        this.allow = allowList.stream().map(v -> v.toLowerCase(Locale.ROOT)).collect(java.util.stream.Collectors.toUnmodifiableSet());
    }

    public List<Detector> detectors() {
        return detectors;
    }

    /** True when {@code value} is on the allow list (never reported). */
    public boolean allowed(String value) {
        return !allow.isEmpty() && allow.contains(value.toLowerCase(Locale.ROOT));
    }

    /** True when a detector of this name is in the set (not switched off). */
    public boolean has(String name) {
        for (Detector d : detectors) {
            if (d.name().equals(name)) {
                return true;
            }
        }
        return false;
    }

    /** Non-overlapping matches in text order. */
    public List<Match> find(String text) {
        if (text.isEmpty()) {
            return List.of();
        }
        List<Match> all = new ArrayList<>();
        TextIndex index = new TextIndex(text);
        Collector collect = new Collector(text, null, all);
        for (int r = 0; r < detectors.size(); r++) {
            collect.current(detectors.get(r), r);
            collect.detector.scan(text, index, collect);
        }
        // encoded spellings ("ana%40firma.de", "&#64;", "\\u0040"): found in the decoded text, masked as spelled
        DecodedView view = DecodedView.of(text);
        if (view != null) {
            TextIndex viewIndex = new TextIndex(view.text);
            Collector fromView = new Collector(view.text, view, all);
            for (int r = 0; r < detectors.size(); r++) {
                fromView.current(detectors.get(r), r);
                fromView.detector.scan(view.text, viewIndex, fromView);
            }
        }
        if (all.isEmpty()) {
            return List.of();
        }
        if (!allow.isEmpty()) {
            all.removeIf(m -> allow.contains(text.substring(m.start(), m.end()).toLowerCase(Locale.ROOT)));
        }
        if (all.size() == 1) {
            return all;
        }
        // the common case: no two candidates overlap, so precedence has nothing to decide
        all.sort(BY_START);
        boolean overlap = false;
        for (int i = 1; i < all.size() && !overlap; i++) {
            overlap = all.get(i).start() < all.get(i - 1).end();
        }
        if (!overlap) {
            return all;
        }
        return resolve(all);
    }

    /**
     * The candidates (sorted by start) that win their overlaps. Precedence decides only between
     * candidates linked by a chain of overlaps, so each such cluster is resolved on its own and a
     * candidate that overlaps nothing is taken as is: a text with a value every few bytes costs a
     * sweep, not a sort and a search tree over all of them.
     */
    static List<Match> resolve(List<Match> byStart) {
        List<Match> out = new ArrayList<>(byStart.size());
        int n = byStart.size();
        int i = 0;
        while (i < n) {
            int j = i + 1;
            int end = byStart.get(i).end();
            while (j < n && byStart.get(j).start() < end) {
                end = Math.max(end, byStart.get(j).end());
                j++;
            }
            if (j == i + 1) {
                out.add(byStart.get(i));
            } else {
                out.addAll(byPrecedence(byStart.subList(i, j)));
            }
            i = j;
        }
        return out;
    }

    /** One cluster: by detector rank, then longest first, a candidate overlapping an accepted one is dropped. */
    private static java.util.Collection<Match> byPrecedence(List<Match> cluster) {
        List<Match> ordered = new ArrayList<>(cluster);
        ordered.sort(BY_PRECEDENCE);
        if (ordered.size() <= SMALL_CLUSTER) {
            // a few candidates (a value and the key/value pair around it): compared pairwise
            List<Match> accepted = new ArrayList<>(ordered.size());
            for (Match m : ordered) {
                boolean free = true;
                for (int k = 0; k < accepted.size() && free; k++) {
                    free = accepted.get(k).end() <= m.start() || m.end() <= accepted.get(k).start();
                }
                if (free) {
                    accepted.add(m);
                }
            }
            accepted.sort(BY_START);
            return accepted;
        }
        TreeMap<Integer, Match> accepted = new TreeMap<>();
        for (Match m : ordered) {
            var before = accepted.floorEntry(m.start());
            if (before != null && before.getValue().end() > m.start()) {
                continue;
            }
            var after = accepted.ceilingEntry(m.start());
            if (after != null && after.getKey() < m.end()) {
                continue;
            }
            accepted.put(m.start(), m);
        }
        return accepted.values();
    }

    /**
     * The sink of one {@link #find}: one object for all detectors (switched with {@link #current})
     * instead of a capturing lambda per detector and scanned string.
     */
    private static final class Collector implements Detector.Sink {
        private final String text;
        private final DecodedView view;
        private final List<Match> all;
        private Detector detector;
        private int rank;

        /** @param view null when {@code text} is the original, else the decoded view it belongs to */
        Collector(String text, DecodedView view, List<Match> all) {
            this.text = text;
            this.view = view;
            this.all = all;
        }

        void current(Detector d, int r) {
            detector = d;
            rank = r;
        }

        @Override
        public void found(int start, int end) {
            if (view == null) {
                if (start < 0 || end > text.length() || start >= end) {
                    throw new IllegalStateException("detector " + detector.name() + " reported an invalid range");
                }
                all.add(new Match(start, end, detector.name(), rank));
                return;
            }
            int s0 = view.start(start);
            int e0 = view.end(end);
            if (e0 - s0 != end - start) {
                all.add(new Match(s0, e0, detector.name(), rank)); // only values that were encoded
            }
        }
    }
}

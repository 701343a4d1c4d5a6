package io.inferencepam.pam.mask.structure;

import io.inferencepam.pam.mask.detect.Detector;
import java.util.ArrayList;
import java.util.List;

/** A detector that finds nothing and keeps every text it was asked to scan, in order. */
final class SpyDetector implements Detector {
    final List<String> scanned = new ArrayList<>();

    @Override
    public String name() {
        return "spy";
    }

    @Override
    public void scan(String text, Sink sink) {
        scanned.add(text);
    }
}

package io.inferencepam.pam.mask.detect;

/**
 * A detector that works from the shared {@link TextIndex} (e.g. the positions where numbers
 * start, computed once per text for every numeric detector). Used alone, it builds its own index.
 */
abstract class IndexedDetector implements Detector {
    @Override
    public final void scan(String text, Sink sink) {
        scan(text, new TextIndex(text), sink);
    }

    @Override
    public abstract void scan(String text, TextIndex index, Sink sink);
}

package io.inferencepam.pam.core;

import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * A small set of member names looked up under {@link KeyFold}: which name a JSON key is, exactly or
 * as a case-insensitive decoder would read it. Allocation-free per key: an exact hit is one hash
 * lookup (the parser hands the same {@code String} for a repeated name, its hash cached); otherwise
 * the key's {@link KeyFold#foldHash} is compared with the names' and only an equal hash is confirmed
 * with {@link KeyFold#same}. Immutable; built once per conf.
 */
public final class FoldedNames {
    private static final FoldedNames EMPTY = new FoldedNames(List.of());

    private final Map<String, String> exact;
    /** Per name, in the order given: its fold hash. */
    private final int[] hashes;
    private final String[] names;

    private FoldedNames(Collection<String> names) {
        this.names = new LinkedHashSet<>(names).toArray(String[]::new);
        this.hashes = new int[this.names.length];
        Map<String, String> e = new HashMap<>();
        for (int i = 0; i < this.names.length; i++) {
            hashes[i] = KeyFold.foldHash(this.names[i]);
            e.put(this.names[i], this.names[i]);
        }
        this.exact = e;
    }

    public static FoldedNames of(Collection<String> names) {
        return names.isEmpty() ? EMPTY : new FoldedNames(names);
    }

    public boolean isEmpty() {
        return names.length == 0;
    }

    /**
     * The name {@code key} is: the name equal to it, else the first name (in the order given) that it
     * is another spelling of ({@link KeyFold#same}), else null.
     */
    public String find(String key) {
        String hit = exact.get(key);
        if (hit != null || names.length == 0) {
            return hit;
        }
        int h = KeyFold.foldHash(key);
        for (int i = 0; i < hashes.length; i++) {
            if (hashes[i] == h && KeyFold.same(key, names[i])) {
                return names[i];
            }
        }
        return null;
    }
}

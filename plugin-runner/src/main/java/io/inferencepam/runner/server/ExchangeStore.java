package io.inferencepam.runner.server;

import io.inferencepam.runner.spi.Attributes;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * State shared by the request and response phases of one HTTP call, keyed by nginx
 * {@code request_id}. Bounded and time-limited: a call whose response phase never comes (an
 * upstream failure, a later APISIX plugin's refusal) must not leak. A request phase that ends
 * with a Stop, an error or a missed deadline closes its exchange itself (no response phase follows:
 * conformance C5), so refused calls never push live exchanges out.
 *
 * <p>{@link #open} runs on the event loop, so every operation is O(1) under a short lock, and
 * nothing ever wakes another thread: entries are kept in the order they were opened; past the
 * capacity the oldest is dropped, and each open first drops at most {@link #EXPIRE_PER_OPEN} of
 * the oldest entries that have been open longer than the idle time. (A cache library's
 * maintenance either woke a pool thread every few calls, ~15 µs of CPU per correlated call on two
 * cores, or, run on the caller, could expire a whole flood of never-closed exchanges in one pass
 * on the event loop.)
 */
public final class ExchangeStore {
    static final int EXPIRE_PER_OPEN = 32;

    private record Entry(Attributes attributes, long openedNanos) {
    }

    private final long idleNanos;
    private final Map<String, Entry> entries;

    public ExchangeStore(Duration idle, int capacity) {
        this.idleNanos = idle.toNanos();
        this.entries = new LinkedHashMap<>(Math.min(capacity, 1024), 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Entry> eldest) {
                return size() > capacity;
            }
        };
    }

    /** The exchange of {@code requestId}, created if absent. */
    public Attributes open(String requestId) {
        long now = System.nanoTime();
        synchronized (entries) {
            expireSome(now);
            Entry e = entries.get(requestId);
            if (e == null) {
                e = new Entry(new Attributes(), now);
                entries.put(requestId, e);
            }
            return e.attributes();
        }
    }

    public void close(String requestId) {
        synchronized (entries) {
            entries.remove(requestId);
        }
    }

    public long size() {
        synchronized (entries) {
            return entries.size();
        }
    }

    /** Drops up to {@link #EXPIRE_PER_OPEN} of the oldest entries that have been open past the idle time. */
    private void expireSome(long now) {
        Iterator<Entry> oldest = entries.values().iterator();
        for (int i = 0; i < EXPIRE_PER_OPEN && oldest.hasNext(); i++) {
            if (now - oldest.next().openedNanos() < idleNanos) {
                return;
            }
            oldest.remove();
        }
    }
}

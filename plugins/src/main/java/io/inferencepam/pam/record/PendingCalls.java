package io.inferencepam.pam.record;

import io.inferencepam.pam.record.spool.AuditWriter;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Calls whose record was started in the request phase and waits for the response phase, by nginx
 * {@code request_id}. A call whose response phase never comes (upstream unreachable, no post-resp
 * conf, a response-phase RPC that never arrives) is written by {@link #sweep} after its conf's
 * {@code response_timeout_ms}, marked {@code response.seen=false}: one record per call, always.
 */
public final class PendingCalls {
    static final int MAX_PENDING = 200_000;

    private final Map<String, PendingCall> calls = new ConcurrentHashMap<>();
    private final AuditWriter writer;
    private final Clock clock;

    public PendingCalls(AuditWriter writer, Clock clock) {
        this.writer = writer;
        this.clock = clock;
    }

    public Clock clock() {
        return clock;
    }

    /** The call with this id, created (started now) if absent. */
    public PendingCall open(String requestId) {
        PendingCall c = calls.computeIfAbsent(requestId, id -> new PendingCall(id, clock.millis(), System.nanoTime()));
        if (calls.size() > MAX_PENDING) {
            sweep(1_000); // memory bound: write calls waiting over a second now rather than grow
        }
        return c;
    }

    public PendingCall find(String requestId) {
        return calls.get(requestId);
    }

    /** Writes the call's record (once) and forgets it. */
    public void complete(PendingCall call) {
        calls.remove(call.id(), call);
        call.end(clock.millis(), System.nanoTime()).ifPresent(writer::submit);
    }

    public int size() {
        return calls.size();
    }

    public void sweep() {
        sweep(-1);
    }

    private void sweep(long forceOlderThanMs) {
        long now = clock.millis();
        for (PendingCall c : calls.values()) {
            long limit = forceOlderThanMs >= 0 ? forceOlderThanMs : c.responseTimeoutMs();
            if (now - c.startMillis() >= limit) {
                complete(c);
            }
        }
    }

    /** At shutdown: whatever is still waiting is written as it is. */
    public void flushAll() {
        for (PendingCall c : calls.values()) {
            complete(c);
        }
    }
}

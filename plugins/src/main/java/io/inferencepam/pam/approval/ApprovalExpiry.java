package io.inferencepam.pam.approval;

import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records each approval's expiry, across every runner, even when no call ever comes back for it,
 * and the {@code held} event of an approval whose runner stopped before writing it. Approvals
 * opened on a recording runner are listed in {@code pam:{approvals}:expiries} (score = expiry,
 * Redis clock), and while being opened in {@code pam:{approvals}:opening} (score = a minute on);
 * a sweep claims the due ones with one script (a lease: one runner at a time; a runner that dies
 * mid-way leaves them to the next claim after the lease, which writes the event again with the
 * same {@code event_id}) and writes {@code expired} for those still pending or approved-unused,
 * {@code held} for those that exist but are still being opened.
 *
 * <p>No busy timer: the sweep is scheduled only while the set has members — at the next expiry,
 * at most {@code PAM_APPROVAL_EXPIRY_SWEEP_MAX_MS} (default 60 s) later, so approvals other runners
 * add are seen — and stops when the set is empty. A runner wakes it when it opens an approval, and
 * once when its first pam-approval conf is prepared (so a restart picks up what is due).
 */
final class ApprovalExpiry implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ApprovalExpiry.class);
    static final String MAX_DELAY_SETTING = "PAM_APPROVAL_EXPIRY_SWEEP_MAX_MS";
    static final Duration LEASE = Duration.ofMinutes(5);
    private static final int BATCH = 100;
    private static final long MIN_DELAY_MS = 50;

    private final Supplier<ApprovalStore> store;
    private final ApprovalAudit audit;
    private final ScheduledExecutorService scheduler;
    private final Executor blocking;
    private final long maxDelayMs;
    private ScheduledFuture<?> next;
    /** When {@link #next} runs, on {@code System.nanoTime()}'s clock. */
    private long nextAtNanos;
    private boolean running;
    /** A wake that came while a sweep ran (ms; -1 none): that sweep may have read the set before the new member. */
    private long wokenWhileRunningMs = -1;
    private boolean closed;

    ApprovalExpiry(Supplier<ApprovalStore> store, ApprovalAudit audit, ScheduledExecutorService scheduler, Executor blocking,
                   long maxDelayMs) {
        this.store = store;
        this.audit = audit;
        this.scheduler = scheduler;
        this.blocking = blocking;
        this.maxDelayMs = Math.max(MIN_DELAY_MS, maxDelayMs);
    }

    /** Sweeps within {@code delay} (sooner if already scheduled sooner). */
    synchronized void wake(Duration delay) {
        long ms = Math.max(MIN_DELAY_MS, Math.min(delay.toMillis(), maxDelayMs));
        long at = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
        if (running) {
            wokenWhileRunningMs = wokenWhileRunningMs < 0 ? ms : Math.min(wokenWhileRunningMs, ms);
            return;
        }
        if (closed || (next != null && !next.isDone() && nextAtNanos - at <= 0)) {
            return; // a sweep is due sooner
        }
        if (next != null) {
            next.cancel(false);
        }
        nextAtNanos = at;
        try {
            next = scheduler.schedule(this::dispatch, ms, TimeUnit.MILLISECONDS);
        } catch (RuntimeException shuttingDown) {
            next = null;
        }
    }

    private void dispatch() {
        synchronized (this) {
            if (closed || running) {
                return;
            }
            running = true;
            next = null;
        }
        try {
            blocking.execute(this::sweep);
        } catch (RuntimeException rejected) {
            finish(maxDelayMs);
        }
    }

    /** One claim, the events of what it claimed, and the next tick if anything is left. */
    void sweep() {
        long delay = -1;
        try {
            if (!audit.records()) {
                return; // this runner does not record: it leaves the expiries to those that do
            }
            ApprovalStore s = store.get();
            ApprovalStore.Claim c;
            do {
                c = s.claimExpiries(LEASE, BATCH);
                for (String id : c.opening()) {
                    java.util.Optional<ApprovalView> v = s.get(id).map(ApprovalView::new);
                    if (v.isEmpty()) {
                        s.dropOpening(id); // never created: its runner stopped before the admit script, or did not use the id
                    } else if (audit.heldRecovered(id, v.get())) {
                        s.opened(id, v.get().number("expires_ms"), v.get().text("state"));
                    } // not kept by the trail: claimed again after the lease
                }
                for (String id : c.expiries()) {
                    java.util.Optional<ApprovalView> v = s.get(id).map(ApprovalView::new);
                    String state = v.map(a -> a.text("state")).orElse("");
                    if (v.isEmpty() || "pending".equals(state) || "approved".equals(state)) {
                        if (!audit.expired(id, v)) {
                            continue; // not kept by the trail: claimed again after the lease
                        }
                    }
                    s.expiryRecorded(id);
                }
            } while (c.size() == BATCH);
            delay = c.nextMillis() < 0 ? -1 : Math.max(MIN_DELAY_MS, c.nextMillis() - c.nowMillis());
        } catch (RuntimeException e) {
            LOG.warn("approval expiry sweep failed ({}); retried later", e.getClass().getSimpleName());
            delay = maxDelayMs;
        } finally {
            finish(delay);
        }
    }

    private void finish(long delayMs) {
        long woken;
        synchronized (this) {
            running = false;
            woken = wokenWhileRunningMs;
            wokenWhileRunningMs = -1;
        }
        long d = delayMs < 0 ? woken : woken < 0 ? delayMs : Math.min(delayMs, woken);
        if (d >= 0) {
            wake(Duration.ofMillis(d));
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (next != null) {
            next.cancel(false);
        }
    }
}

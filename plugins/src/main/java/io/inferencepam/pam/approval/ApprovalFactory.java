package io.inferencepam.pam.approval;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.PamServices;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import java.security.SecureRandom;
import io.inferencepam.pam.core.AuditTrail;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Creates pam-approval plugins. One per runner: it owns what confs share — the approval store
 * on the runner's Redis client, the metrics, the reviewer tickets and the approvals control API —
 * and the {@code pam-approval-review} factory ({@link #reviewFactory()}).
 */
public final class ApprovalFactory implements PluginFactory {
    private final PamServices services;
    private final PluginEnvironment env;
    private final ApprovalMetrics metrics;
    private final SecureRandom random = new SecureRandom();
    private final ReviewerTickets tickets = new ReviewerTickets(random);
    private final LiveHolds live;
    private final ApprovalNotifications notifications;
    private final ApprovalAudit audit;
    private final ApprovalExpiry expiry;
    private final java.util.concurrent.atomic.AtomicBoolean firstSweep = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile ApprovalStore store;

    /** @param trail the runner's audit trail (pam-record), for the approvals' own events; empty where it does not record */
    public ApprovalFactory(PamServices services, Supplier<Optional<AuditTrail>> trail) {
        this.services = services;
        this.env = services.env();
        this.metrics = new ApprovalMetrics(env.metrics());
        this.audit = new ApprovalAudit(trail, env.clock(), env.metrics());
        this.expiry = new ApprovalExpiry(this::store, audit, env.scheduler(), env.blockingExecutor(),
                intSetting(env, ApprovalExpiry.MAX_DELAY_SETTING, 60_000));
        env.onShutdown(expiry);
        WebhookNotifier notifier = new WebhookNotifier(env.scheduler(), env.metrics(),
                intSetting(env, WebhookNotifier.ATTEMPTS_SETTING, 5), java.time.Duration.ofMillis(intSetting(env, WebhookNotifier.BACKOFF_SETTING, 1000)));
        env.onShutdown(notifier);
        PromptExcerpt excerpt = new PromptExcerpt();
        this.notifications = new ApprovalNotifications(env::setting, notifier, excerpt, env.blockingExecutor(), this::store, env.clock(),
                audit);
        ApprovalControlApi.register(env, this::store, tickets, notifications, excerpt, audit);
        this.live = new LiveHolds(maxLive(env), env.scheduler(), env.blockingExecutor(), services::redis,
                id -> store().isPending(id));
        env.onShutdownBegins(live::shutdownBegins);
        env.onShutdown(live);
        env.metrics().gauge("pam_approval_live_held", "calls held open on this runner waiting for a decision", live::held);
    }

    private static int maxLive(PluginEnvironment env) {
        return intSetting(env, LiveHolds.MAX_SETTING, LiveHolds.DEFAULT_MAX);
    }

    private static int intSetting(PluginEnvironment env, String name, int fallback) {
        String raw = env.setting(name).orElse("").trim();
        if (raw.isEmpty()) {
            return fallback;
        }
        try {
            return Math.max(0, Integer.parseInt(raw));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer");
        }
    }

    /** {@code pam-approval-review}: hands a verified person to the approvals control API. */
    public PluginFactory reviewFactory() {
        return new ApprovalReviewFactory(tickets);
    }

    @Override
    public String name() {
        return ApprovalPlugin.NAME;
    }

    @Override
    public String confSchema() {
        return ApprovalConf.SCHEMA;
    }

    @Override
    public Set<Phase> phases() {
        return EnumSet.of(Phase.REQUEST);
    }

    @Override
    public Plugin create(JsonNode conf) throws InvalidConfException {
        ApprovalConf c = ApprovalConf.parse(conf);
        notifications.check(c.webhooks());
        if (env.offline()) {
            return new ApprovalPlugin(c, this::store, env.blockingExecutor(), env.clock(), metrics, random, live, notifications,
                    audit, expiry, true);
        }
        if (!c.liveWait().isZero()) {
            live.listen(); // subscribed before the route's first held call
        }
        if (firstSweep.compareAndSet(false, true)) {
            expiry.wake(java.time.Duration.ZERO); // expiries that fell due while no runner swept (e.g. this one restarted)
        }
        return new ApprovalPlugin(c, this::store, env.blockingExecutor(), env.clock(), metrics, random, live, notifications,
                audit, expiry, false);
    }

    /** Connects on first use, from the blocking executor. */
    private ApprovalStore store() {
        ApprovalStore s = store;
        if (s == null) {
            synchronized (this) {
                s = store;
                if (s == null) {
                    s = new ApprovalStore(services.redis().client(), audit.records());
                    store = s;
                }
            }
        }
        return s;
    }
}

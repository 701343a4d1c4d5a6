package io.inferencepam.pam.approval;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.PamServices;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.Set;

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
    private volatile ApprovalStore store;

    public ApprovalFactory(PamServices services) {
        this.services = services;
        this.env = services.env();
        this.metrics = new ApprovalMetrics(env.metrics());
        ApprovalControlApi.register(env, this::store, tickets);
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
        return new ApprovalPlugin(ApprovalConf.parse(conf), this::store, env.blockingExecutor(), env.clock(), metrics, random);
    }

    /** Connects on first use, from the blocking executor. */
    private ApprovalStore store() {
        ApprovalStore s = store;
        if (s == null) {
            synchronized (this) {
                s = store;
                if (s == null) {
                    s = new ApprovalStore(services.redis().client());
                    store = s;
                }
            }
        }
        return s;
    }
}

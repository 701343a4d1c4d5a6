package io.inferencepam.pam.core;

import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.CallContext;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the PAM plugins learned and decided about one HTTP call, shared by the plugins of both
 * phases (through the runtime's request_id correlation) and written out by pam-record.
 * Thread-safe: plugins of one call run one after another but on different threads.
 */
public final class CallFacts {
    private static final Attributes.Key<CallFacts> KEY = Attributes.Key.of("pam.call-facts", CallFacts.class);

    private volatile Principal principal;
    private volatile String model;
    private volatile String credentialName;
    private volatile String credentialVersion;
    private volatile String approvalId;
    private final List<String> reviewers = Collections.synchronizedList(new ArrayList<>());
    private final List<Decision> decisions = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, Integer> maskedCounts = Collections.synchronizedMap(new LinkedHashMap<>());

    /**
     * The facts of the call {@code ctx} belongs to: shared across phases when the conf correlates
     * them (every PAM plugin does), else per RPC.
     */
    public static CallFacts of(CallContext ctx) {
        return ctx.exchange().orElse(ctx.call()).computeIfAbsent(KEY, CallFacts::new);
    }

    public Optional<Principal> principal() {
        return Optional.ofNullable(principal);
    }

    public void principal(Principal p) {
        principal = p;
    }

    public Optional<String> model() {
        return Optional.ofNullable(model);
    }

    public void model(String m) {
        model = m;
    }

    /** Name and version of the injected upstream credential: never the secret. */
    public void credential(String name, String version) {
        credentialName = name;
        credentialVersion = version;
    }

    public Optional<String> credentialName() {
        return Optional.ofNullable(credentialName);
    }

    public Optional<String> credentialVersion() {
        return Optional.ofNullable(credentialVersion);
    }

    public Optional<String> approvalId() {
        return Optional.ofNullable(approvalId);
    }

    public void approval(String id, List<String> reviewerNames) {
        approvalId = id;
        reviewers.addAll(reviewerNames);
    }

    public List<String> reviewers() {
        synchronized (reviewers) {
            return List.copyOf(reviewers);
        }
    }

    public void decide(Decision d) {
        decisions.add(d);
    }

    public List<Decision> decisions() {
        synchronized (decisions) {
            return List.copyOf(decisions);
        }
    }

    public void masked(String detector, int count) {
        maskedCounts.merge(detector, count, Integer::sum);
    }

    public Map<String, Integer> maskedCounts() {
        synchronized (maskedCounts) {
            return Map.copyOf(maskedCounts);
        }
    }
}

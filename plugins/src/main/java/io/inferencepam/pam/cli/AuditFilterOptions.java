package io.inferencepam.pam.cli;

import io.inferencepam.pam.record.query.AuditFilter;
import java.util.Optional;
import picocli.CommandLine.Option;

/** Search criteria shared by search and export. */
final class AuditFilterOptions {
    @Option(names = "--principal", description = "subject, username or client id")
    String principal;
    @Option(names = "--model")
    String model;
    @Option(names = "--route", description = "APISIX route id")
    String route;
    @Option(names = "--decision", description = "deny, hold, allow, mask, … or stop, pass, rewrite, error")
    String decision;
    @Option(names = "--from", description = "ISO-8601 instant or epoch ms (inclusive)")
    String from;
    @Option(names = "--to", description = "ISO-8601 instant or epoch ms (exclusive)")
    String to;
    @Option(names = "--approval", description = "approval id (apr_…): its events (held, notified, decided, resumed, "
            + "consumed, denied, expired) and the call records that name it")
    String approval;

    AuditFilter filter(int limit) {
        return new AuditFilter(Optional.ofNullable(principal), Optional.ofNullable(model), Optional.ofNullable(route),
                Optional.ofNullable(decision), Optional.ofNullable(from).map(AuditFilter::time),
                Optional.ofNullable(to).map(AuditFilter::time), limit, Optional.ofNullable(approval));
    }

    boolean any() {
        return principal != null || model != null || route != null || decision != null || from != null || to != null
                || approval != null;
    }
}

package io.inferencepam.pam.quota;

import java.util.List;

/**
 * What an admitted call's request phase leaves for its response phase (in the call's exchange):
 * the counters its tokens are charged to. Only the token-capped ones; empty tickets are not left.
 */
record QuotaTicket(List<QuotaCounter> tokenCounters) {
    QuotaTicket {
        tokenCounters = List.copyOf(tokenCounters);
    }
}

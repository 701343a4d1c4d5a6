package io.inferencepam.pam.approval;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.inferencepam.pam.core.Principal;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;

/**
 * How a person's identity reaches the control API. The control API is loopback-only and trusts
 * one shared bearer token (the operators'); people reach it through an APISIX route where
 * pam-auth verifies their OIDC token and injects that control token. On that route,
 * {@code pam-approval-review} (after pam-auth) mints a ticket for the verified principal and
 * sends it to the control API in {@link #HEADER}; the control API redeems it once.
 *
 * <p>Tickets live in this runner's memory only (the control API an APISIX node proxies to is its
 * own runner's loopback), for {@link #LIFETIME}, and are single-use: a ticket copied from a log
 * or a proxy is worth nothing, and one cannot be forged (128 random bits, never written anywhere).
 * Only identity travels this way; the groups are those of the token verified for this very
 * request, so reviewer eligibility is checked at decision time.
 */
final class ReviewerTickets {
    static final String HEADER = "x-pam-reviewer-ticket";
    static final Duration LIFETIME = Duration.ofSeconds(30);
    private static final int CAPACITY = 100_000;

    private final Cache<String, Principal> tickets;
    private final SecureRandom random;

    ReviewerTickets(SecureRandom random) {
        this.random = random;
        this.tickets = Caffeine.newBuilder().expireAfterWrite(LIFETIME).maximumSize(CAPACITY).build();
    }

    String mint(Principal principal) {
        byte[] r = new byte[16];
        random.nextBytes(r);
        String ticket = "rt_" + HexFormat.of().formatHex(r);
        tickets.put(ticket, principal);
        return ticket;
    }

    /** The principal the ticket was minted for, once; empty if unknown, expired or already redeemed. */
    Optional<Principal> redeem(String ticket) {
        if (ticket == null || ticket.length() != 35) {
            return Optional.empty();
        }
        return Optional.ofNullable(tickets.asMap().remove(ticket));
    }
}

package io.inferencepam.pam.core;

import java.util.List;

/**
 * Who is calling, as established by pam-auth from a verified OIDC access token.
 *
 * @param issuer   the token's {@code iss}
 * @param subject  {@code sub}
 * @param username {@code preferred_username} (or the configured claim), may be empty
 * @param groups   groups/roles from the configured claim path
 * @param clientId {@code azp} / {@code client_id}: the OAuth client (service accounts, agents)
 */
public record Principal(String issuer, String subject, String username, List<String> groups, String clientId) {
    public Principal {
        groups = List.copyOf(groups);
    }
}

package io.inferencepam.pam.auth;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;

/**
 * Runner settings of the credential cache.
 *
 * @param refresh  {@code PAM_CREDENTIAL_REFRESH_SECONDS} (default 30): a cached secret older than
 *                 this is re-read in the background while it keeps being served; the bound on how
 *                 long a missed rotation announcement can go unnoticed
 * @param maxStale {@code PAM_CREDENTIAL_MAX_STALE_SECONDS} (default 300, at least {@code refresh}):
 *                 a secret not re-read successfully for this long is no longer injected (503)
 */
record CredentialCacheSettings(Duration refresh, Duration maxStale) {
    static final String REFRESH = "PAM_CREDENTIAL_REFRESH_SECONDS";
    static final String MAX_STALE = "PAM_CREDENTIAL_MAX_STALE_SECONDS";

    static CredentialCacheSettings from(Function<String, Optional<String>> settings) {
        long refresh = seconds(settings, REFRESH, 30);
        long maxStale = seconds(settings, MAX_STALE, 300);
        if (maxStale < refresh) {
            throw new IllegalArgumentException(MAX_STALE + " (" + maxStale + ") must be at least " + REFRESH + " (" + refresh + ")");
        }
        return new CredentialCacheSettings(Duration.ofSeconds(refresh), Duration.ofSeconds(maxStale));
    }

    private static long seconds(Function<String, Optional<String>> settings, String name, long fallback) {
        Optional<String> raw = settings.apply(name).filter(s -> !s.isBlank());
        if (raw.isEmpty()) {
            return fallback;
        }
        try {
            long v = Long.parseLong(raw.get().trim());
            if (v >= 1 && v <= 86_400) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(name + " must be a whole number of seconds from 1 to 86400");
    }
}

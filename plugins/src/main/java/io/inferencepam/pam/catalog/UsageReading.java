package io.inferencepam.pam.catalog;

import java.util.Optional;

/**
 * What {@link UsageReader} found in one response: the usage, or why there was none (a short
 * phrase for the audit and logs; never body content).
 */
public record UsageReading(Optional<Usage> usage, String problem) {

    static UsageReading found(Usage u) {
        return new UsageReading(Optional.of(u), "");
    }

    static UsageReading missing(String problem) {
        return new UsageReading(Optional.empty(), problem);
    }
}

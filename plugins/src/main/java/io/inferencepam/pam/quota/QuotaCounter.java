package io.inferencepam.pam.quota;

/**
 * One Redis counter a call is counted in: the hash of one limit for one principal (and model).
 *
 * @param limitId      the conf's limit id (for decisions and messages)
 * @param key          the Redis key ({@link QuotaKeys})
 * @param windowMillis the limit's window
 * @param requestCap   -1 for none
 * @param tokenCap     -1 for none
 */
public record QuotaCounter(String limitId, String key, long windowMillis, long requestCap, long tokenCap) {
}

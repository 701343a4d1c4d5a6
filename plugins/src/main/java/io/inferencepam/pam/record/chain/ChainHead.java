package io.inferencepam.pam.record.chain;

/**
 * The newest entry of one instance's chain that is durable (stored, or in the local spool):
 * its sequence number and hash, and when it became durable (epoch ms, runner clock). A restart
 * links its first entry to it; the runner's control API checks the store still holds it.
 */
public record ChainHead(String instance, long seq, String hash, long atMillis) {
}

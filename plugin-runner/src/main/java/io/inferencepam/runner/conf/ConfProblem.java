package io.inferencepam.runner.conf;

/**
 * One thing wrong with a conf entry.
 *
 * @param entry  index in APISIX's {@code conf[]}
 * @param plugin the entry's plugin name
 * @param path   JSON path inside the entry's value ({@code $} for the value itself)
 * @param message what is wrong; never the value (it may be a secret)
 */
public record ConfProblem(int entry, String plugin, String path, String message) {
    @Override
    public String toString() {
        return "conf[" + entry + "] (" + plugin + ") " + path + ": " + message;
    }
}

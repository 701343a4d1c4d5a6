package io.inferencepam.runner.spi;

/** Which RPC a plugin is serving. pre-req and post-req share the request shape. */
public enum Phase {
    REQUEST,
    RESPONSE
}

package io.inferencepam.pam;

import io.inferencepam.runner.spi.PluginEnvironment;

/**
 * Services shared by the PAM plugins of one runner (one instance per process, created by
 * {@link PamPluginProvider}). Everything here is lazy: nothing connects until a conf needs it.
 */
public final class PamServices {
    private final PluginEnvironment env;

    public PamServices(PluginEnvironment env) {
        this.env = env;
    }

    public PluginEnvironment env() {
        return env;
    }
}

package io.inferencepam.driver;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An APISIX route as far as the ext-plugins are concerned: its id and the {@code conf} arrays of
 * {@code ext-plugin-pre-req}, {@code ext-plugin-post-req} and {@code ext-plugin-post-resp}. An empty
 * array means the plugin is not enabled on the route.
 *
 * <p>{@code version} plays the role of the route's conf version in APISIX's PrepareConf key
 * {@code route#<id>#<plugin>#<version>} and token cache key; change it to force a new PrepareConf.
 * {@code allowDegradation} mirrors the plugin attribute of the same name (conformance R8c, R9b):
 * a failed RPC skips the plugin instead of answering 503. Never use it for enforcement.
 *
 * <p>{@code editsBeforePreReq}: request headers that an APISIX plugin running before
 * {@code ext-plugin-pre-req} removes or sets (a global rule, or a route plugin above priority 12000),
 * in order; see {@link HeaderEdit}. Conformance H1–H4.
 */
public record RouteConf(String id, List<ConfEntry> preReq, List<ConfEntry> postReq, List<ConfEntry> postResp,
                        long version, boolean allowDegradation, List<HeaderEdit> editsBeforePreReq) {

    public RouteConf {
        Objects.requireNonNull(id, "id");
        preReq = List.copyOf(preReq);
        postReq = List.copyOf(postReq);
        postResp = List.copyOf(postResp);
        editsBeforePreReq = List.copyOf(editsBeforePreReq);
    }

    /**
     * One header edit before {@code ext-plugin-pre-req}: {@code core.request.set_header(ctx, name, value)},
     * a removal when {@code value} is null.
     * {@code afterRead}: the plugin read the request headers first ({@code core.request.header}, as
     * {@code key-auth} with {@code hide_credentials} does, or a custom plugin), so APISIX's cached
     * table of the first 100 lines is edited in place and the call frame can lack a header past the
     * 100th line (H3, H4). Without a prior read the frame is read fresh afterwards, capped at 100 of
     * the lines left (proxy-rewrite {@code headers.remove}, H1; a plain {@code set_header}, H2).
     */
    public record HeaderEdit(String name, String value, boolean afterRead) {
        public HeaderEdit {
            Objects.requireNonNull(name, "name");
        }

        boolean removes() {
            return value == null;
        }
    }

    public static Builder builder(String id) {
        return new Builder(id);
    }

    /** The conf array of one phase plugin. */
    public List<ConfEntry> conf(ExtPhase phase) {
        return switch (phase) {
            case PRE_REQ -> preReq;
            case POST_REQ -> postReq;
            case POST_RESP -> postResp;
        };
    }

    public static final class Builder {
        private final String id;
        private final List<ConfEntry> preReq = new ArrayList<>();
        private final List<ConfEntry> postReq = new ArrayList<>();
        private final List<ConfEntry> postResp = new ArrayList<>();
        private long version = 1;
        private boolean allowDegradation;
        private final List<HeaderEdit> editsBeforePreReq = new ArrayList<>();

        private Builder(String id) {
            this.id = id;
        }

        public Builder preReq(ConfEntry... entries) {
            preReq.addAll(Arrays.asList(entries));
            return this;
        }

        public Builder postReq(ConfEntry... entries) {
            postReq.addAll(Arrays.asList(entries));
            return this;
        }

        public Builder postResp(ConfEntry... entries) {
            postResp.addAll(Arrays.asList(entries));
            return this;
        }

        public Builder version(long v) {
            this.version = v;
            return this;
        }

        public Builder allowDegradation(boolean allow) {
            this.allowDegradation = allow;
            return this;
        }

        /** A plugin before ext-plugin-pre-req removes this request header (see {@link HeaderEdit}). */
        public Builder removesHeaderBeforePreReq(String name, boolean afterRead) {
            editsBeforePreReq.add(new HeaderEdit(name, null, afterRead));
            return this;
        }

        /**
         * A plugin before ext-plugin-pre-req sets this request header, after the edits declared
         * before it (key-auth's {@code X-Consumer-Username} for the consumer it found, H4).
         */
        public Builder setsHeaderBeforePreReq(String name, String value) {
            editsBeforePreReq.add(new HeaderEdit(name, Objects.requireNonNull(value, "value"), false));
            return this;
        }

        public RouteConf build() {
            return new RouteConf(id, preReq, postReq, postResp, version, allowDegradation, editsBeforePreReq);
        }
    }
}

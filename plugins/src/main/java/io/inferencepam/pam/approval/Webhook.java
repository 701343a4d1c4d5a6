package io.inferencepam.pam.approval;

import java.net.InetAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;

/**
 * A webhook reviewers are notified through. Route confs name webhooks; their URLs live in runner
 * settings, because a Slack incoming-webhook URL is a secret (whoever has it can post) and secrets
 * never appear in route conf: {@code PAM_APPROVAL_WEBHOOK_<NAME>} = {@code "<format> <url>"}
 * ({@code json} or {@code slack}; name upper-cased, {@code -} as {@code _}), and for {@code json}
 * optionally {@code PAM_APPROVAL_WEBHOOK_<NAME>_SECRET}, an HMAC-SHA256 key that signs each body.
 *
 * @param secret signing key ({@code X-PAM-Signature: sha256=<hex>}), json format only
 */
record Webhook(String name, Format format, URI url, Optional<byte[]> secret) {

    enum Format { JSON, SLACK }

    static String settingName(String name) {
        return "PAM_APPROVAL_WEBHOOK_" + name.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    /**
     * The webhook {@code name} from the settings; empty with the reason when it is not configured
     * or not usable (plain http is accepted to loopback only: payloads carry identities and masked prompts).
     */
    static Result resolve(String name, Function<String, Optional<String>> settings) {
        Optional<String> raw = settings.apply(settingName(name)).map(String::trim).filter(s -> !s.isEmpty());
        if (raw.isEmpty()) {
            return new Result(Optional.empty(), settingName(name) + " is not set");
        }
        String[] parts = raw.get().split("\\s+", 2);
        if (parts.length != 2) {
            return new Result(Optional.empty(), settingName(name) + " must be \"json <url>\" or \"slack <url>\"");
        }
        Format format;
        try {
            format = Format.valueOf(parts[0].toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return new Result(Optional.empty(), settingName(name) + ": unknown format (json or slack)");
        }
        URI url;
        try {
            url = new URI(parts[1]);
        } catch (java.net.URISyntaxException e) {
            return new Result(Optional.empty(), settingName(name) + " is not a valid URL");
        }
        boolean https = "https".equalsIgnoreCase(url.getScheme());
        if (url.getHost() == null || !(https || ("http".equalsIgnoreCase(url.getScheme()) && loopback(url.getHost())))) {
            return new Result(Optional.empty(), settingName(name) + " must be an https URL (http only to loopback)");
        }
        Optional<byte[]> secret = settings.apply(settingName(name) + "_SECRET").filter(s -> !s.isBlank())
                .map(s -> s.getBytes(StandardCharsets.UTF_8));
        return new Result(Optional.of(new Webhook(name, format, url, secret)), "");
    }

    private static boolean loopback(String host) {
        try {
            return InetAddress.getByName(host.startsWith("[") ? host.substring(1, host.length() - 1) : host).isLoopbackAddress();
        } catch (Exception e) {
            return false;
        }
    }

    record Result(Optional<Webhook> webhook, String problem) {
    }

    /** Never the URL: it may be the secret. */
    @Override
    public String toString() {
        return "Webhook[" + name + " " + format + "]";
    }
}

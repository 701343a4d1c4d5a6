package io.inferencepam.pam.auth;

import static io.inferencepam.runner.spi.ControlApi.Response.error;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.PamServices;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.PluginEnvironment;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Credential rotation on the runner's loopback control API:
 * <ul>
 *   <li>{@code PUT  /v1/credentials/{name}} body {@code {"secret": "..."}}: create or replace at once</li>
 *   <li>{@code POST /v1/credentials/{name}/rotate} body {@code {"secret": "...", "overlap_seconds": 300}}</li>
 *   <li>{@code GET  /v1/credentials/{name}/versions}: versions and their state, never a secret</li>
 * </ul>
 * Responses carry version numbers only.
 */
final class CredentialControlApi {
    private static final Logger LOG = LoggerFactory.getLogger(CredentialControlApi.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PREFIX = "/v1/credentials/";
    static final Duration DEFAULT_OVERLAP = Duration.ofMinutes(5);

    private CredentialControlApi() {
    }

    static void register(PluginEnvironment env, PamServices services, CredentialCipher.Result cipher) {
        ControlApi.Handler handler = req -> handle(env, services, cipher, req);
        env.control().route("GET", PREFIX + "*", handler);
        env.control().route("PUT", PREFIX + "*", handler);
        env.control().route("POST", PREFIX + "*", handler);
    }

    private static CompletionStage<ControlApi.Response> handle(PluginEnvironment env, PamServices services,
                                                               CredentialCipher.Result cipher, ControlApi.Request req) {
        String rest = req.path().substring(PREFIX.length());
        String[] parts = rest.split("/", -1);
        String name = parts[0];
        if (!CredentialStore.NAME.matcher(name).matches()) {
            return done(error(400, "invalid_credential_name", "credential names are 1-64 characters of A-Z a-z 0-9 . _ -"));
        }
        if (cipher.get().isEmpty()) {
            LOG.error("credential API refused: {}", cipher.problem());
            return done(error(503, "credential_key_missing", "the runner has no usable " + CredentialCipher.SETTING));
        }
        String op;
        if (parts.length == 1 && "PUT".equals(req.method())) {
            op = "set";
        } else if (parts.length == 2 && "rotate".equals(parts[1]) && "POST".equals(req.method())) {
            op = "rotate";
        } else if (parts.length == 2 && "versions".equals(parts[1]) && "GET".equals(req.method())) {
            op = "versions";
        } else {
            return done(error(404, "not_found", "unknown credential operation"));
        }
        String secret = null;
        Duration overlap = DEFAULT_OVERLAP;
        if (!"versions".equals(op)) {
            try {
                JsonNode body = JSON.readTree(req.body().toByteArray());
                secret = body == null ? null : body.path("secret").asText(null);
                if (body != null && body.has("overlap_seconds")) {
                    overlap = Duration.ofSeconds(Math.max(0, body.get("overlap_seconds").asLong()));
                }
            } catch (Exception e) {
                return done(error(400, "invalid_json", "the body must be JSON: {\"secret\": \"...\"}"));
            }
            if (secret == null || secret.isEmpty()) {
                return done(error(400, "secret_required", "the body must carry a non-empty \"secret\""));
            }
        }
        String s = secret;
        Duration ov = overlap;
        CompletableFuture<ControlApi.Response> out = new CompletableFuture<>();
        try {
            env.blockingExecutor().execute(() -> {
                try {
                    CredentialStore store = new CredentialStore(services.redis().client(), cipher.get().get());
                    long now = env.clock().millis();
                    ObjectNode resp = JSON.createObjectNode().put("name", name);
                    if ("versions".equals(op)) {
                        ArrayNode arr = resp.putArray("versions");
                        for (CredentialStore.VersionInfo v : store.versions(name, now)) {
                            ObjectNode o = arr.addObject().put("version", v.version()).put("created_at_ms", v.createdAtMillis())
                                    .put("state", v.state());
                            if (v.validUntilMillis() > 0) {
                                o.put("valid_until_ms", v.validUntilMillis());
                            }
                        }
                        out.complete(arr.isEmpty() ? error(404, "credential_not_found", "no such credential")
                                : ControlApi.Response.json(200, resp.toString()));
                    } else {
                        long v = store.put(name, s, "set".equals(op) ? CredentialStore.Mode.SET : CredentialStore.Mode.ROTATE, ov, now);
                        LOG.info("credential {} {}: now version {}", name, op, v);
                        out.complete(ControlApi.Response.json(200, resp.put("version", v).toString()));
                    }
                } catch (redis.clients.jedis.exceptions.JedisDataException e) {
                    // Script errors (NOCRED, WRONGKEY) are ours and carry no secret.
                    out.complete(error(409, "credential_conflict", e.getMessage()));
                } catch (Exception e) {
                    LOG.warn("credential {} {} failed: {}", name, op, e.getClass().getSimpleName());
                    out.complete(error(503, "credential_store_unavailable", "the credential store is unavailable"));
                }
            });
        } catch (RuntimeException rejected) {
            return done(error(503, "busy", "the runner is busy; try again"));
        }
        return out;
    }

    private static CompletionStage<ControlApi.Response> done(ControlApi.Response r) {
        return CompletableFuture.completedFuture(r);
    }
}

package io.inferencepam.pam.record;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.spool.AuditWriter;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The admitted entry of a call: written when the request phase lets the call through, before the
 * reply that makes APISIX call the upstream, so that a runner killed (crash, OOM, SIGKILL) while
 * the model generates still leaves evidence of who called which model with which request. Small
 * on purpose (no body, no headers: the final record has them); the final record of the call
 * carries the same {@code admission} id, and a call with an admitted entry and no final record is
 * one the runner never saw end ({@code audit search --decision admitted}).
 *
 * <p>Captured on the plugin thread (cheap: references and a few strings); built on the audit
 * writer's thread like every record, where hashing the request body also settles it
 * ({@link HeldBody}), so the call stops holding more of it than the record keeps.
 */
record Admission(String id, String admission, long atMillis, String routeId, String confSha256,
                 Optional<Principal> principal, Optional<String> model, String method, String path,
                 String outcome, Optional<HeldBody> requestBody, List<String> secrets) implements AuditWriter.Record {

    static final String KIND = "admitted";

    /** 128 random bits, hex: unique across runners and lifetimes (request ids need not be). */
    static String newId() {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return HexFormat.of().toHexDigits(r.nextLong()) + HexFormat.of().toHexDigits(r.nextLong());
    }

    @Override
    public ObjectNode build() {
        ObjectNode r = CanonicalJson.MAPPER.createObjectNode();
        r.put("kind", KIND);
        r.put("v", 1);
        r.put("id", id);
        r.put("admission", admission);
        r.put("at", Instant.ofEpochMilli(atMillis).toString());
        r.put("route_id", routeId);
        if (principal.isPresent()) {
            Principal p = principal.get();
            ObjectNode o = r.putObject("principal");
            o.put("issuer", p.issuer());
            o.put("subject", p.subject());
            o.put("username", p.username());
            o.put("client_id", p.clientId());
        } else {
            r.putNull("principal");
        }
        r.put("model", model.orElse(null));
        r.put("request_outcome", outcome);
        ObjectNode req = r.putObject("request");
        req.put("method", method);
        req.put("path", PendingCall.redact(path, secrets));
        if (requestBody.isPresent()) {
            HeldBody.Summary s = requestBody.get().settle();
            req.put("size", s.length());
            req.put("body_sha256", s.sha256());
        } else {
            req.putNull("size");
            req.putNull("body_sha256");
        }
        r.putObject("policy").put("request_conf_sha256", confSha256);
        return r;
    }
}

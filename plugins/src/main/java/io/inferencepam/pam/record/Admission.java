package io.inferencepam.pam.record;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.pam.record.chain.JcsWriter;
import io.inferencepam.pam.record.chain.UnlinkedEntry;
import io.inferencepam.pam.record.spool.AuditWriter;
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

    /** Written in canonical form member by member (keys in canonical order), no tree. */
    @Override
    public UnlinkedEntry unlinked() {
        JcsWriter w = UnlinkedEntry.begin(768);
        w.field("admission", admission);
        w.instantField("at", atMillis);
        w.field("id", id);
        w.field("kind", KIND);
        w.field("model", model.orElse(null));
        w.key("policy").beginObject().field("request_conf_sha256", confSha256).endObject();
        if (principal.isPresent()) {
            Principal p = principal.get();
            w.key("principal").beginObject().field("client_id", p.clientId()).field("issuer", p.issuer())
                    .field("subject", p.subject()).field("username", p.username()).endObject();
        } else {
            w.nullField("principal");
        }
        w.key("request").beginObject();
        if (requestBody.isPresent()) {
            HeldBody.Summary s = requestBody.get().settle();
            w.field("body_sha256", s.sha256());
            w.field("method", method);
            w.field("path", PendingCall.redact(path, secrets));
            w.field("size", s.length());
        } else {
            w.nullField("body_sha256");
            w.field("method", method);
            w.field("path", PendingCall.redact(path, secrets));
            w.nullField("size");
        }
        w.endObject();
        w.field("request_outcome", outcome);
        w.field("route_id", routeId);
        w.field("v", 1);
        return UnlinkedEntry.finish(w);
    }

    @Override
    public ObjectNode build() {
        return unlinked().toTree();
    }
}

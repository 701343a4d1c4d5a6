package io.inferencepam.pam.record.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.record.RecordService;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.pam.record.chain.ChainHead;
import io.inferencepam.pam.record.chain.ChainVerifier;
import io.inferencepam.pam.record.chain.CheckpointSigner;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.ControlApi;
import java.io.StringWriter;
import java.security.PublicKey;
import java.time.Clock;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Control-API endpoints (loopback; people reach them through an APISIX route protected by
 * pam-auth with an auditor role):
 * <pre>
 * GET /v1/audit/records?principal=&amp;model=&amp;route=&amp;decision=&amp;approval=&amp;from=&amp;to=&amp;limit=   search (default limit 100)
 * GET /v1/audit/records/{id}                                              one record
 * GET /v1/audit/export?format=jsonl[&amp;filters]                              JSON lines as stored
 * GET /v1/audit/verify[?complete=true]                                    chain check (keys: this runner's, PAM_AUDIT_VERIFY_KEY)
 * GET /v1/audit/key                                                       this runner's checkpoint public key
 * GET /v1/audit/status                                                    writer counters
 * </pre>
 * Handlers run on the runtime's blocking pool (they scan the store).
 */
public final class AuditControlApi {
    private static final Logger LOG = LoggerFactory.getLogger(AuditControlApi.class);
    private AuditControlApi() {
    }

    public static void register(ControlApi api, Callable<RecordService> service) {
        api.route("GET", "/v1/audit/records", r -> run(() -> {
            AuditFilter f = AuditFilter.fromQuery(r.query(), 100);
            ArrayNode arr = CanonicalJson.MAPPER.createArrayNode();
            new AuditQuery(service.call().sink()).search(f).forEach(arr::add);
            ObjectNode o = CanonicalJson.MAPPER.createObjectNode();
            o.set("records", arr);
            o.put("count", arr.size());
            return ControlApi.Response.json(200, o.toString());
        }));
        api.route("GET", "/v1/audit/records/*", r -> run(() -> {
            String id = r.path().substring("/v1/audit/records/".length());
            Optional<JsonNode> rec = new AuditQuery(service.call().sink()).show(id);
            return rec.map(n -> ControlApi.Response.json(200, n.toString()))
                    .orElseGet(() -> ControlApi.Response.error(404, "record_not_found", "no record with this id"));
        }));
        api.route("GET", "/v1/audit/export", r -> run(() -> {
            if (!"jsonl".equals(r.queryParam("format", "jsonl"))) {
                return ControlApi.Response.error(400, "unsupported_format", "format must be jsonl");
            }
            AuditFilter f = r.query().keySet().stream().anyMatch(k -> !k.equals("format"))
                    ? AuditFilter.fromQuery(r.query(), Integer.MAX_VALUE) : AuditFilter.ALL;
            StringWriter out = new StringWriter();
            new AuditQuery(service.call().sink()).exportJsonl(f, out);
            return new ControlApi.Response(200, "application/x-ndjson", Body.utf8(out.toString()));
        }));
        api.route("GET", "/v1/audit/verify", r -> run(() -> {
            RecordService svc = service.call();
            // This runner's own stored head, taken before the scan: the store must still hold it
            // (a cut of the live chain's tail, or of all of it, shows here at once).
            List<ChainHead> heads = svc.storedHead().map(List::of).orElse(List.of());
            ChainVerifier.Options o = new ChainVerifier.Options(svc.verificationKeys(), Boolean.parseBoolean(r.queryParam("complete", "false")),
                    svc.sink().retention(), heads, Clock.systemUTC(), svc.settings().checkpointInterval());
            ChainVerifier.Report rep = new AuditQuery(svc.sink()).verify(o);
            return ControlApi.Response.json(rep.clean() && rep.verified() ? 200 : 409, reportJson(rep).toString());
        }));
        api.route("GET", "/v1/audit/key", r -> run(() -> {
            RecordService svc = service.call();
            Optional<PublicKey> key = svc.publicKey();
            if (key.isEmpty()) {
                return ControlApi.Response.error(404, "public_key_unknown",
                        "PAM_AUDIT_SIGNING_KEY is set and no PAM_AUDIT_VERIFY_KEY matches it");
            }
            ObjectNode o = CanonicalJson.MAPPER.createObjectNode();
            o.put("instance", svc.writer().instance());
            o.put("key_id", CheckpointSigner.keyId(key.get()));
            o.put("public_key", Base64.getEncoder().encodeToString(key.get().getEncoded()));
            return ControlApi.Response.json(200, o.toString());
        }));
        api.route("GET", "/v1/audit/status", r -> run(() -> {
            RecordService svc = service.call();
            var st = svc.writer().stats();
            ObjectNode o = CanonicalJson.MAPPER.createObjectNode();
            o.put("instance", svc.writer().instance());
            o.put("key_id", svc.publicKey().map(CheckpointSigner::keyId).orElse(null));
            o.put("sink", svc.sink().kind());
            o.put("store_up", svc.writer().storeUp());
            o.put("submitted", st.submitted.get());
            o.put("written", st.written.get());
            o.put("spooled", st.spooled.get());
            o.put("overflowed", st.overflowed.get());
            o.put("drained", st.drained.get());
            o.put("lost", st.lost.get());
            o.put("checkpoints", st.checkpoints.get());
            o.put("unsigned_checkpoints", st.unsignedCheckpoints.get());
            o.put("pending_calls", svc.pending().size());
            o.put("spool_bytes", svc.writer().spool().size());
            o.put("queue_depth", svc.writer().queueDepth());
            o.put("idle", svc.writer().idle());
            return ControlApi.Response.json(200, o.toString());
        }));
    }

    public static ObjectNode reportJson(ChainVerifier.Report rep) {
        ObjectNode o = CanonicalJson.MAPPER.createObjectNode();
        o.put("clean", rep.clean());
        o.put("verified", rep.verified());
        o.put("status", !rep.clean() ? "tampered" : rep.verified() ? "ok" : "not_verified");
        o.put("entries", rep.entries());
        ArrayNode fs = o.putArray("findings");
        for (ChainVerifier.Finding f : rep.findings()) {
            ObjectNode x = fs.addObject();
            x.put("kind", f.kind().name());
            x.put("instance", f.instance());
            x.put("seq", f.seq());
            x.put("position", f.position());
            x.put("detail", f.detail());
        }
        ArrayNode is = o.putArray("instances");
        for (ChainVerifier.InstanceSummary s : rep.instances()) {
            ObjectNode x = is.addObject();
            x.put("instance", s.instance());
            x.put("entries", s.entries());
            x.put("first_seq", s.firstSeq());
            x.put("last_seq", s.lastSeq());
            x.put("last_signed_seq", s.lastSignedSeq());
            x.put("verified", s.verified());
        }
        ArrayNode ns = o.putArray("notes");
        rep.notes().forEach(ns::add);
        return o;
    }

    @FunctionalInterface
    private interface Work {
        ControlApi.Response run() throws Exception;
    }

    private static CompletableFuture<ControlApi.Response> run(Work w) {
        try {
            return CompletableFuture.completedFuture(w.run());
        } catch (IllegalArgumentException e) {
            return CompletableFuture.completedFuture(ControlApi.Response.error(400, "invalid_request", e.getMessage()));
        } catch (Exception e) {
            LOG.warn("audit control API: the audit store could not be read: {}", e.getClass().getName());
            return CompletableFuture.completedFuture(ControlApi.Response.error(503, "audit_store_unavailable",
                    "audit store unavailable"));
        }
    }

}

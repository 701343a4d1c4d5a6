package io.inferencepam.pam.record.query;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.ResponseChange;
import io.inferencepam.runner.spi.Stop;
import io.inferencepam.runner.spi.Vars;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * Runs recorded requests through a candidate route conf, offline, and says what would change: a
 * safety net for policy changes. The candidate's plugins are built by the runtime's own
 * ConfCompiler (same schema checks as PrepareConf) in an offline environment
 * ({@link io.inferencepam.runner.spi.PluginEnvironment#offline}) and called directly, in conf
 * order, with a request rebuilt from the record. The token is never recorded, so the principal the
 * live runner verified for the call is put into the call facts first and stands for it ({@link #IDENTITY}):
 * pam-auth decides the model, the entitlements and the credential step again under the candidate
 * (the credential is not fetched), pam-guard its rules, pam-approval its hold rules (no approval is
 * opened). pam-record itself is always left out.
 */
public final class PolicyReplay {

    public enum Change { UNCHANGED, NOW_BLOCKED, NOW_HELD, NOW_ALLOWED, STOP_CHANGED, REWRITTEN_DIFFERENTLY, MASKED_DIFFERENTLY, NOT_REPLAYABLE }

    public record Result(String id, String recorded, String candidate, Change change) {
        @Override
        public String toString() {
            return id + "  recorded=" + recorded + "  candidate=" + candidate + "  change=" + change.name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** What replay does about identity: said in its output. */
    public static final String IDENTITY = "identity: each call is replayed as the principal the gateway verified and "
            + "recorded for it (tokens are never recorded, so identity is not re-proven offline); entitlements, model "
            + "rules, guard rules and hold rules are decided again under the candidate conf";

    private final Optional<PreparedConf> preReq;
    private final Optional<PreparedConf> postResp;
    private final boolean compareHeaderRewrites;

    /**
     * @param compareHeaderRewrites false when plugins were skipped: their header rewrites (pam-auth's
     *                              credential injection) are in the record but cannot be replayed, so
     *                              only path, args and body rewrites are compared
     */
    public PolicyReplay(Optional<PreparedConf> preReq, Optional<PreparedConf> postResp, boolean compareHeaderRewrites) {
        this.preReq = preReq;
        this.postResp = postResp;
        this.compareHeaderRewrites = compareHeaderRewrites;
    }

    public Result replay(JsonNode rec) throws Exception {
        String id = rec.path("id").asText();
        String recorded = describeRecorded(rec);
        if (RequestReconstruction.body(rec).isEmpty()) {
            return new Result(id, recorded, "request body not recorded in full", Change.NOT_REPLAYABLE);
        }
        CallContext ctx = context(rec, preReq);
        HttpRequest req = RequestReconstruction.httpRequest(rec);
        RequestRewrite merged = RequestRewrite.NONE;
        Stop stop = null;
        String stoppedBy = null;
        if (preReq.isPresent()) {
            PreparedConf c = preReq.get();
            for (int i = 0; i < c.plugins().size(); i++) {
                RequestDecision d = c.plugins().get(i).onRequest(req, ctx).toCompletableFuture().get(30, TimeUnit.SECONDS);
                if (d instanceof RequestDecision.Halt h) {
                    stop = h.stop();
                    stoppedBy = c.names().get(i);
                    break;
                }
                RequestRewrite rw = ((RequestDecision.Proceed) d).rewrite();
                req = req.apply(rw);
                merged = merged.then(rw);
            }
        }
        boolean recStopped = "stop".equals(rec.path("request_outcome").asText()) || "error".equals(rec.path("request_outcome").asText());
        int recStatus = rec.path("response").path("status").asInt(0);
        if (stop != null) {
            boolean held = held(stop);
            String cand = (held ? "held " : "stop ") + stop.status() + " by " + stoppedBy;
            if (!recStopped) {
                if (held && usedAnApproval(rec)) {
                    return new Result(id, recorded, cand + " (recorded: held, then approved)", Change.UNCHANGED);
                }
                return new Result(id, recorded, cand, held ? Change.NOW_HELD : Change.NOW_BLOCKED);
            }
            return new Result(id, recorded, cand, stop.status() == recStatus ? Change.UNCHANGED : Change.STOP_CHANGED);
        }
        String rwSig = rewriteSignature(merged);
        String cand = "proceed" + (rwSig.isEmpty() ? "" : " rewrite " + rwSig);
        if (recStopped) {
            return new Result(id, recorded, cand, Change.NOW_ALLOWED);
        }
        if (!comparable(rwSig).equals(comparable(recordedRewriteSignature(rec)))) {
            return new Result(id, recorded, cand, Change.REWRITTEN_DIFFERENTLY);
        }
        if (postResp.isPresent() && rec.path("response").path("seen").asBoolean(false)
                && "utf8".equals(rec.path("response").path("body_encoding").asText())) {
            Body delivered = Body.utf8(rec.path("response").path("body").asText());
            HttpResponse resp = new HttpResponse(1, recStatus, Headers.of("Content-Type",
                    rec.path("response").path("content_type").asText("application/json")), Vars.empty(), Optional.of(delivered));
            HttpResponse after = resp;
            CallContext rctx = context(rec, postResp);
            PreparedConf c = postResp.get();
            for (Plugin p : c.plugins()) {
                ResponseChange ch = p.onResponse(after, rctx).toCompletableFuture().get(30, TimeUnit.SECONDS);
                after = after.apply(ch);
            }
            if (!after.body().equals(resp.body()) || after.status() != resp.status()) {
                return new Result(id, recorded, cand + ", response changed (" + after.status() + ")", Change.MASKED_DIFFERENTLY);
            }
        }
        return new Result(id, recorded, cand, Change.UNCHANGED);
    }

    /** A hold: pam-approval's {@code approval_pending} (or a 202, as test plugins hold). */
    private static boolean held(Stop stop) {
        if (stop.status() == 202) {
            return true;
        }
        try {
            return "approval_pending".equals(io.inferencepam.pam.record.chain.CanonicalJson.parse(stop.body().utf8())
                    .path("error").path("code").asText());
        } catch (java.io.IOException | RuntimeException e) {
            return false;
        }
    }

    /** The recorded call ran on an approval that reviewers granted (it was held first, under the same rules). */
    private static boolean usedAnApproval(JsonNode rec) {
        for (JsonNode d : rec.path("decisions")) {
            if ("pam-approval".equals(d.path("plugin").asText()) && "approve".equals(d.path("outcome").asText())) {
                return true;
            }
        }
        return false;
    }

    private String comparable(String signature) {
        if (compareHeaderRewrites) {
            return signature;
        }
        List<String> kept = new ArrayList<>();
        for (String part : signature.split(",")) {
            if (!part.isEmpty() && !part.startsWith("+h:") && !part.startsWith("-h:")) {
                kept.add(part);
            }
        }
        return String.join(",", kept);
    }

    private static CallContext context(JsonNode rec, Optional<PreparedConf> conf) {
        Attributes exchange = new Attributes();
        CallContext ctx = new CallContext(new Attributes(), Optional.of(exchange),
                conf.map(PreparedConf::identity).orElseThrow(), Instant.now().plus(Duration.ofSeconds(30)));
        JsonNode p = rec.path("principal");
        if (p.isObject()) {
            List<String> groups = new ArrayList<>();
            p.path("groups").forEach(g -> groups.add(g.asText()));
            CallFacts.of(ctx).principal(new Principal(p.path("issuer").asText(""), p.path("subject").asText(""),
                    p.path("username").asText(""), groups, p.path("client_id").asText("")));
        }
        if (rec.hasNonNull("model")) {
            CallFacts.of(ctx).model(rec.get("model").asText());
        }
        return ctx;
    }

    private static String describeRecorded(JsonNode rec) {
        String outcome = rec.path("request_outcome").asText("?");
        if ("stop".equals(outcome)) {
            return "stop " + rec.path("response").path("status").asText("?") + " by " + rec.path("stopped_by").asText("?");
        }
        String rw = recordedRewriteSignature(rec);
        return outcome + (rw.isEmpty() ? "" : " rewrite " + rw) + " status " + rec.path("response").path("status").asText("?");
    }

    /** Names only (values are credentials), path and body flags: comparable with what the record keeps. */
    static String rewriteSignature(RequestRewrite rw) {
        TreeSet<String> parts = new TreeSet<>();
        rw.headers().forEach((k, v) -> parts.add((v == null ? "-h:" : "+h:") + k));
        rw.args().keySet().forEach(a -> parts.add("a:" + a));
        if (rw.path().isPresent()) {
            parts.add("path");
        }
        rw.body().ifPresent(b -> parts.add("body:" + io.inferencepam.pam.record.chain.HashChain.sha256Hex(b.toByteArray()).substring(0, 12)));
        return String.join(",", parts);
    }

    static String recordedRewriteSignature(JsonNode rec) {
        JsonNode rw = rec.path("rewrite");
        TreeSet<String> parts = new TreeSet<>();
        rw.path("headers_set").forEach(h -> parts.add("+h:" + h.asText()));
        rw.path("headers_removed").forEach(h -> parts.add("-h:" + h.asText()));
        rw.path("args").forEach(a -> parts.add("a:" + a.asText()));
        if (rw.path("path").asBoolean(false)) {
            parts.add("path");
        }
        if (rw.path("body").asBoolean(false)) {
            parts.add("body:" + rw.path("body_sha256").asText("").substring(0, Math.min(12, rw.path("body_sha256").asText("").length())));
        }
        return String.join(",", parts);
    }
}

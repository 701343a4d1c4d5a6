package io.inferencepam.pam.record;

import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestOutcome;
import io.inferencepam.runner.spi.Requirements;
import io.inferencepam.runner.spi.ResponseOutcome;
import io.inferencepam.runner.spi.Stop;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * pam-record for one route conf. Request phase: {@link #onRequest} (list pam-record first) takes
 * the request as received and, with {@code fail_closed}, refuses the call when no record could be
 * made durable; {@link #onRequestOutcome} learns how the phase ended — a Stop by any plugin of the
 * conf writes the record at once; {@link #beforeUpstream}, when every plugin let the call through,
 * writes its admitted entry before the reply that makes APISIX call the upstream (with
 * {@code fail_closed}, a call whose admitted entry cannot be kept is refused). Response phase: {@link #onResponseOutcome} sees the response as
 * delivered (after pam-mask, or the runtime's safe 503) and writes the record. Nothing here waits
 * for the store: records go to the writer's queue.
 */
final class RecordPlugin implements Plugin {
    static final Stop AUDIT_UNAVAILABLE = Stop.openAiError(503, "service_unavailable", "audit_unavailable",
            "The gateway cannot record this request right now, and this route requires a record. Retry later.");
    private static final Attributes.Key<PendingCall> CALL = Attributes.Key.of("pam-record.call", PendingCall.class);

    private final RecordConf conf;
    private final RecordService service;

    RecordPlugin(RecordConf conf, RecordService service) {
        this.conf = conf;
        this.service = service;
    }

    @Override
    public Requirements requirements(Phase phase) {
        if (phase == Phase.REQUEST) {
            Requirements r = Requirements.vars("request_id", "remote_addr", "http_user_agent", "http_authorization", "http_cookie");
            return conf.requestBody() ? r.withRequestBody() : r;
        }
        Requirements r = Requirements.vars("request_id");
        return conf.responseBody() ? r.withResponseBody() : r;
    }

    @Override
    public boolean correlatesPhases() {
        return true;
    }

    @Override
    public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
        PendingCall call = service.pending().open(requestId(request, context));
        context.call().put(CALL, call);
        call.request(request, conf, context.conf(), CallFacts.of(context));
        if (conf.failClosed() && !service.writer().canMakeDurable()) {
            return RequestDecision.stop(AUDIT_UNAVAILABLE);
        }
        return RequestDecision.proceed();
    }

    /**
     * The admitted entry (who, which model, request hash), handed to the writer before the pass
     * reply: evidence of the call that survives the runner dying while the upstream runs. With
     * {@code fail_closed}, refused (503, the upstream is not called) unless it can be made durable
     * the same way the final record must be (the store is up or the spool accepts; with the queue
     * full, the overflow spool accepts).
     */
    @Override
    public Optional<Stop> beforeUpstream(RequestOutcome pending, CallContext context) {
        PendingCall call = context.call().get(CALL).orElse(null);
        if (call == null) { // onRequest runs before this whenever the call passes; kept safe anyway
            call = service.pending().open(requestId(pending.received(), context));
            context.call().put(CALL, call);
            call.request(pending.received(), conf, context.conf(), CallFacts.of(context));
        }
        Admission admission = call.admission(pending, CallFacts.of(context), service.pending().clock().millis());
        if (admission == null) {
            return Optional.empty();
        }
        if (conf.failClosed() && !service.writer().canMakeDurable()) {
            return Optional.of(AUDIT_UNAVAILABLE);
        }
        if (service.writer().submit(admission)) {
            call.admitted(admission);
        } else if (conf.failClosed()) {
            return Optional.of(AUDIT_UNAVAILABLE); // counted lost by the writer
        }
        return Optional.empty();
    }

    @Override
    public void onRequestOutcome(RequestOutcome outcome, CallContext context) {
        PendingCall call = context.call().get(CALL)
                .orElseGet(() -> service.pending().open(requestId(outcome.received(), context)));
        CallFacts facts = CallFacts.of(context);
        if (!call.hasRequest()) {
            call.request(outcome.received(), conf, context.conf(), facts); // an earlier plugin stopped before us
        }
        call.requestOutcome(outcome, facts);
        if (outcome.stopped() || call.hasResponseOutcome()) {
            service.pending().complete(call);
        }
    }

    @Override
    public void onResponseOutcome(ResponseOutcome outcome, CallContext context) {
        String id = outcome.received().var("request_id").filter(s -> !s.isEmpty()).orElse(null);
        PendingCall call = id == null ? null : service.pending().find(id);
        boolean waiting = call != null;
        if (call == null) {
            // No request-phase record (pam-record not in pre-req, or no request_id): record what we see.
            call = service.pending().open(id != null ? id : "resp-" + UUID.randomUUID());
        }
        call.responseOutcome(outcome, conf, context.conf(), CallFacts.of(context));
        // onRequest ran before the request reply was sent, so if it ran, its outcome is at most
        // moments away: let onRequestOutcome write the record then. Otherwise write it now.
        if (!waiting || !call.hasRequest() || call.hasRequestOutcome()) {
            service.pending().complete(call);
        }
    }

    private static String requestId(HttpRequest r, CallContext ctx) {
        return r.var("request_id").filter(s -> !s.isEmpty())
                .orElseGet(() -> "rpc-" + r.rpcId() + "-" + UUID.randomUUID());
    }
}

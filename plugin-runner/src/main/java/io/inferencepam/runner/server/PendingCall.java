package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.protocol.Inbound;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Requirements;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A call waiting for its ExtraInfo answers. Confined to the connection's event loop. Questions
 * go out in a fixed order (vars in declared order, then the body) and APISIX answers in order.
 * Vars the call frame already answers ({@link FrameVars}) are not asked.
 */
final class PendingCall {
    final Phase phase;
    final Inbound call;
    final ConfBinding binding;
    final long startNanos;
    /** The call frame, when its header vars may be taken from it (an ext-plugin-pre-req call). */
    final Optional<Inbound.RequestCall> answeringFrame;
    final FrameVars frameVars;
    private final List<String> needed;
    private final List<String> varOrder;
    /** Vars answered from the call frame, without a question (absent var: not a key). */
    private final Map<String, String> fromFrame;
    private final boolean wantsBody;
    private final List<Optional<byte[]>> answers;

    PendingCall(Phase phase, Inbound call, ConfBinding binding, long startNanos) {
        this(phase, call, binding, startNanos, FrameVars.ASK_ABSENT);
    }

    /** @param frameVars what the runner may conclude from an ext-plugin-pre-req frame (the operator's setting) */
    PendingCall(Phase phase, Inbound call, ConfBinding binding, long startNanos, FrameVars frameVars) {
        this.phase = phase;
        this.call = call;
        this.binding = binding;
        this.startNanos = startNanos;
        Requirements needs = binding.needs(phase);
        Inbound.RequestCall frame = null;
        if (call instanceof Inbound.RequestCall rc && binding instanceof ConfBinding.Compiled c) {
            if (c.conf().correlatesRequest(rc.method(), rc.path())) {
                needs = Requirements.vars(PreparedConf.REQUEST_ID_VAR).plus(needs);
            }
            if (FrameVars.PRE_REQ.equals(c.conf().identity().apisixPlugin())) {
                frame = rc;
            }
        }
        this.answeringFrame = Optional.ofNullable(frame);
        this.frameVars = frameVars;
        this.needed = List.copyOf(needs.vars());
        List<String> ask = new ArrayList<>(needed.size());
        Map<String, String> known = new HashMap<>();
        for (String var : needed) {
            Optional<Optional<String>> answer = frame == null ? Optional.empty() : frameVars.answer(var, frame);
            if (answer.isEmpty()) {
                ask.add(var);
            } else {
                answer.get().ifPresent(value -> known.put(var, value));
            }
        }
        this.varOrder = List.copyOf(ask);
        this.fromFrame = known;
        this.wantsBody = phase == Phase.REQUEST ? needs.requestBody() : needs.responseBody();
        this.answers = new ArrayList<>(questionCount());
    }

    long id() {
        return call instanceof Inbound.RequestCall c ? c.id() : ((Inbound.ResponseCall) call).id();
    }

    List<String> vars() {
        return varOrder;
    }

    boolean wantsBody() {
        return wantsBody;
    }

    int questionCount() {
        return varOrder.size() + (wantsBody ? 1 : 0);
    }

    /** Records one answer; true when all answers are in. */
    boolean answer(Optional<byte[]> result) {
        answers.add(result);
        return answers.size() == questionCount();
    }

    /** Every var this call needed, present or not: what the call knows without asking again. */
    List<String> neededVars() {
        return needed;
    }

    Map<String, String> varValues() {
        Map<String, String> out = new HashMap<>(fromFrame);
        for (int i = 0; i < varOrder.size(); i++) {
            Optional<byte[]> a = answers.get(i);
            if (a.isPresent()) {
                out.put(varOrder.get(i), new String(a.get(), java.nio.charset.StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    Optional<Body> body() {
        if (!wantsBody) {
            return Optional.empty();
        }
        return Optional.of(answers.get(varOrder.size()).map(Body::wrap).orElse(Body.empty()));
    }
}

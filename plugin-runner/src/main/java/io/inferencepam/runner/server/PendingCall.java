package io.inferencepam.runner.server;

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
 */
final class PendingCall {
    final Phase phase;
    final Inbound call;
    final ConfBinding binding;
    final long startNanos;
    private final List<String> varOrder;
    private final boolean wantsBody;
    private final List<Optional<byte[]>> answers;

    PendingCall(Phase phase, Inbound call, ConfBinding binding, long startNanos) {
        this.phase = phase;
        this.call = call;
        this.binding = binding;
        this.startNanos = startNanos;
        Requirements needs = binding.needs(phase);
        this.varOrder = List.copyOf(needs.vars());
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

    Map<String, String> varValues() {
        Map<String, String> out = new HashMap<>();
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

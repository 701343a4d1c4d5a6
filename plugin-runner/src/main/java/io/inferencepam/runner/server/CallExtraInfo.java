package io.inferencepam.runner.server;

import io.inferencepam.runner.protocol.Inbound;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.ExtraInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Function;

/**
 * What one call knows from APISIX, and how it asks for more while its plugins run. Seeded with the
 * batch asked before the chain (answered vars, missing vars, the body); a later question is sent
 * only for what no plugin of the call has had yet, and header vars the call frame answers
 * ({@link FrameVars}) are never sent. Thread-safe: plugins ask from plugin threads; the questions
 * go out on the connection's event loop ({@link Asker}).
 */
final class CallExtraInfo implements ExtraInfo {

    /** Sends the questions of one batch on the call's connection. Runs on the connection's event loop. */
    @FunctionalInterface
    interface Asker {
        /**
         * Completes {@code answers} with one entry per question (vars in order, then the body), or
         * exceptionally when the call was already answered or the connection is gone.
         */
        void ask(CallExtraInfo call, List<String> vars, boolean body, CompletableFuture<List<Optional<byte[]>>> answers);
    }

    private final Optional<Inbound.RequestCall> frame;
    private final FrameVars frameVars;
    private final Map<String, Optional<String>> known = new ConcurrentHashMap<>();
    /** null until asked. */
    private volatile Optional<Body> body;
    private final Executor eventLoop;
    private final Asker asker;
    private final Function<Optional<Body>, Executor> lanes;
    /** The call's phase when it runs on the event loop: a fetch asked there may continue there ({@link InlinePhase#resume}). */
    private volatile InlinePhase inline;

    /**
     * @param frame     the call frame when its header vars may be taken from it (ext-plugin-pre-req)
     * @param frameVars what may be concluded from that frame
     * @param asked     every var asked or derived before the chain
     * @param present   the present ones among them, with their values
     * @param body      the body if it was asked before the chain
     * @param lanes     where a plugin continues once answered: the plugin pool for this body
     */
    CallExtraInfo(Optional<Inbound.RequestCall> frame, FrameVars frameVars, List<String> asked, Map<String, String> present, Optional<Body> body,
                  Executor eventLoop, Asker asker, Function<Optional<Body>, Executor> lanes) {
        this.frame = frame;
        this.frameVars = frameVars;
        for (String v : asked) {
            known.put(v, Optional.ofNullable(present.get(v)));
        }
        this.body = body.isPresent() ? body : null;
        this.eventLoop = eventLoop;
        this.asker = asker;
        this.lanes = lanes;
    }

    /** The call's phase runs on the event loop ({@link InlinePhase}). */
    void runsInline(InlinePhase phase) {
        this.inline = phase;
    }

    @Override
    public Optional<Optional<String>> known(String var) {
        return Optional.ofNullable(lookup(var));
    }

    /** What the call knows of {@code v} (asked, or answered by the frame), or null when only a question would tell. */
    private Optional<String> lookup(String v) {
        Optional<String> k = known.get(v);
        if (k == null && frame.isPresent()) {
            Optional<Optional<String>> fromFrame = frameVars.answer(v, frame.get());
            if (fromFrame.isPresent()) {
                k = fromFrame.get();
                known.put(v, k);
            }
        }
        return k;
    }

    @Override
    public CompletionStage<Answers> fetch(Set<String> vars, boolean wantBody) {
        Map<String, String> have = new HashMap<>();
        List<String> ask = new ArrayList<>();
        for (String v : vars) {
            Optional<String> k = lookup(v);
            if (k == null) {
                ask.add(v);
            } else {
                k.ifPresent(value -> have.put(v, value));
            }
        }
        Optional<Body> knownBody = body;
        boolean askBody = wantBody && knownBody == null;
        if (ask.isEmpty() && !askBody) {
            return CompletableFuture.completedFuture(new Answers(have, wantBody ? knownBody : Optional.empty()));
        }
        CompletableFuture<List<Optional<byte[]>>> answered = new CompletableFuture<>();
        CompletableFuture<Answers> result = new CompletableFuture<>();
        InlinePhase phase = inline;
        InlinePhase loopPart = phase != null && phase.asking() ? phase : null;
        answered.whenComplete((list, err) -> {
            if (err != null) {
                if (loopPart != null) {
                    loopPart.continuedElsewhere();
                }
                result.completeExceptionally(err);
                return;
            }
            for (int i = 0; i < ask.size(); i++) {
                String name = ask.get(i);
                Optional<String> value = list.get(i).map(b -> new String(b, java.nio.charset.StandardCharsets.UTF_8));
                known.put(name, value);
                value.ifPresent(x -> have.put(name, x));
            }
            Optional<Body> got = knownBody;
            if (askBody) {
                got = Optional.of(list.get(ask.size()).map(Body::wrap).orElse(Body.empty()));
                body = got;
            }
            Answers a = new Answers(have, wantBody ? got : Optional.empty());
            // Plugin code continues here: on the event loop for a phase running there when the body is
            // small (InlinePhase.resume), else on a plugin thread (the large-body lane for a large body).
            if (loopPart != null) {
                if (loopPart.resume(a.body(), () -> result.complete(a))) {
                    return;
                }
                loopPart.continuedElsewhere();
            }
            try {
                lanes.apply(a.body()).execute(() -> result.complete(a));
            } catch (RejectedExecutionException e) {
                result.completeExceptionally(e);
            }
        });
        try {
            eventLoop.execute(() -> asker.ask(this, ask, askBody, answered));
        } catch (RejectedExecutionException e) {
            answered.completeExceptionally(e);
        }
        return result;
    }
}

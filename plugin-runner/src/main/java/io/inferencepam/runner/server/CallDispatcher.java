package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.protocol.A6Encoder;
import io.inferencepam.runner.protocol.FrameTooLargeException;
import io.inferencepam.runner.protocol.OutboundFrame;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.CallHold;
import io.inferencepam.runner.spi.ExtraInfo;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestOutcome;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.ResponseOutcome;
import io.inferencepam.runner.spi.Stop;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;
import io.netty.util.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the plugins of a conf for one call and turns the outcome into exactly one reply frame.
 *
 * <p>Invariants: plugins run on the plugin pool's threads in conf order, or, for a phase whose plugins all
 * declare it cheap and non-blocking, on the event loop until it first waits ({@link InlinePhase}); a Stop is final (later
 * plugins do not run, earlier rewrites are dropped); any exception, failed stage, rejected task or
 * missed deadline becomes Stop 503 in the request phase and a safe 503 response in the response
 * phase — never RPC_ERROR there, because APISIX would then send the original, unmasked body.
 *
 * <p>It builds and runs the chain; {@link CallDeadlines} sees that each call is answered in time
 * or at shutdown, {@link PluginCalls} turns what goes wrong in plugin code into a failed stage,
 * {@link OutcomeObservers} tells the plugins how the phase ended, and {@link ReplyFrames} holds the
 * fail-closed answers.
 */
public final class CallDispatcher {
    private static final Logger LOG = LoggerFactory.getLogger(CallDispatcher.class);

    private final PluginPool plugins;
    private final LargeBodyLane largeBodies;
    private final OutcomeObservers observers;
    private final CallDeadlines deadlines;
    private final ExchangeStore exchanges;
    private final Duration deadline;
    /** How far a plugin may stretch a request-phase call's deadline ({@link CallHold}); = deadline: no holds. */
    private final Duration maxHold;
    private final RunnerMetrics metrics;
    /**
     * {@code System.nanoTime()} in production: the clock of the deadlines and of a phase's time on
     * the event loop. Tests pass their own, with a {@code deadlines} timer they advance themselves,
     * so that what a deadline or a cost estimate decides does not depend on how loaded the host is.
     */
    private final LongSupplier nanoClock;

    /**
     * @param deadlines timer for the per-call deadline (see {@link CallDeadlines})
     * @param observerFallback where outcome observers run when the plugin executor is full (the
     *                         blocking executor): never inline, since a reply may complete on the
     *                         deadline timer or an event loop
     */
    public CallDispatcher(PluginPool plugins, Executor observerFallback, Timer deadlines, ExchangeStore exchanges,
                          Duration deadline, RunnerMetrics metrics) {
        this(plugins, new LargeBodyLane(plugins, Integer.MAX_VALUE), observerFallback, deadlines, exchanges, deadline, metrics);
    }

    /**
     * @param largeBodies where calls with a large body run, so that cheap calls never queue behind
     *                    them (see {@link LargeBodyLane})
     */
    public CallDispatcher(PluginPool plugins, LargeBodyLane largeBodies, Executor observerFallback, Timer deadlines,
                          ExchangeStore exchanges, Duration deadline, RunnerMetrics metrics) {
        this(plugins, largeBodies, observerFallback, deadlines, exchanges, deadline, deadline, metrics);
    }

    /**
     * @param maxHold how long after its start a request-phase call may be held open by a plugin
     *                ({@link CallContext#holdUntil}); calls that do not ask keep {@code deadline}
     */
    public CallDispatcher(PluginPool plugins, LargeBodyLane largeBodies, Executor observerFallback, Timer deadlines,
                          ExchangeStore exchanges, Duration deadline, Duration maxHold, RunnerMetrics metrics) {
        this(plugins, largeBodies, observerFallback, deadlines, exchanges, deadline, maxHold, metrics, System::nanoTime);
    }

    /** @param nanoClock what stands for {@code System.nanoTime()} (tests); {@code deadlines} must run on the same clock */
    CallDispatcher(PluginPool plugins, LargeBodyLane largeBodies, Executor observerFallback, Timer deadlines,
                   ExchangeStore exchanges, Duration deadline, Duration maxHold, RunnerMetrics metrics, LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        this.maxHold = maxHold.compareTo(deadline) > 0 ? maxHold : deadline;
        this.observers = new OutcomeObservers(observerFallback, metrics);
        this.plugins = plugins;
        this.largeBodies = largeBodies;
        this.deadlines = new CallDeadlines(deadlines);
        this.exchanges = exchanges;
        this.deadline = deadline;
        this.metrics = metrics;
    }

    /** Chain state of the request phase. {@code stop} non-null means halted by {@code haltedBy}. */
    private record RequestState(HttpRequest request, RequestRewrite rewrite, Stop stop, String haltedBy) {
    }

    /** The reply frame and the outcome it stands for: produced together, so exactly one wins. */
    private record Reply<O>(OutboundFrame frame, O outcome) {
    }

    /**
     * A reply frame, and what to run once it has been handed to the event loop: telling the
     * conf's outcome observers (pam-record) how the phase ended. The caller runs it on the thread
     * that completed the reply, usually a plugin thread, where the observers then run at once
     * instead of costing another hand-over; from any other thread they are queued.
     */
    record Answer(OutboundFrame frame, Runnable afterReply) {
        private static final Runnable NOTHING = () -> { };

        /** The frame, after the observers were told (for callers that send it themselves later). */
        OutboundFrame observed() {
            afterReply.run();
            return frame;
        }
    }

    public CompletableFuture<OutboundFrame> request(PreparedConf conf, HttpRequest request, long startNanos) {
        return request(conf, request, startNanos, plugins, ExtraInfo.NONE).thenApply(Answer::observed);
    }

    /** Where plugin code runs for a call with this body (the large-body lane for a large one). */
    java.util.concurrent.Executor laneFor(Optional<Body> body) {
        return largeBodies.poolFor(body, plugins);
    }

    /**
     * @param entry how the call reaches a plugin thread; each plugin then runs on a plugin thread:
     *              where the previous one completed if that was a plugin thread, else queued there
     *              (a plugin may complete on a blocking-I/O thread or someone's event loop).
     */
    CompletableFuture<Answer> request(PreparedConf conf, HttpRequest request, long startNanos, PluginEntry entry,
                                      ExtraInfo extraInfo) {
        Optional<Attributes> exchange = exchangeFor(conf, request.var(PreparedConf.REQUEST_ID_VAR));
        HeldDeadline hold = new HeldDeadline(startNanos, deadline, maxHold, nanoClock);
        CallContext ctx = context(conf, exchange, hold, extraInfo);
        PluginPool pool = largeBodies.poolFor(request.body(), plugins);
        InlinePhase inline = pool == plugins ? InlinePhase.start(conf, Phase.REQUEST, request.body(), entry, pool, nanoClock) : null;
        runsInline(extraInfo, inline);
        try {
            return measured(runRequest(conf, request, ctx, exchange, hold, pool, inline, entry), inline);
        } finally {
            if (inline != null) {
                inline.finish(); // the loop's part is done (or failed): what waited continues on a plugin thread
            }
        }
    }

    /**
     * The phase's answer, telling a phase that ran on the loop when it is built, if that is later
     * than its first part: the caller's write of the reply and hand-off of the observers, which run
     * in the same task when a fetch's answer continued the phase on the loop, are then not charged
     * to the phase ({@link InlinePhase#answered}).
     */
    private static CompletableFuture<Answer> measured(CompletableFuture<Answer> answer, InlinePhase inline) {
        return inline == null || answer.isDone() ? answer : answer.whenComplete((a, err) -> inline.answered());
    }

    /** A fetch of a phase running on the loop may continue there ({@link InlinePhase#resume}). */
    private static void runsInline(ExtraInfo extraInfo, InlinePhase inline) {
        if (inline != null && extraInfo instanceof CallExtraInfo call) {
            call.runsInline(inline);
        }
    }

    /**
     * Where a phase's chain starts: on this event loop when it runs inline, else the call's way to the
     * plugin threads ({@code entry}: batched hand-over), or the large-body lane.
     */
    private PluginEntry firstStep(InlinePhase inline, PluginPool pool, PluginEntry entry) {
        return inline != null ? inline : pool == plugins ? entry : pool;
    }

    private CompletableFuture<Answer> runRequest(PreparedConf conf, HttpRequest request, CallContext ctx,
                                                 Optional<Attributes> exchange, HeldDeadline hold, PluginPool pool,
                                                 InlinePhase inline, PluginEntry entry) {
        RequestState initial = new RequestState(request, RequestRewrite.NONE, null, null);
        Executor steps = inline != null ? inline : pool.inline();
        CompletableFuture<RequestState> chain = firstStep(inline, pool, entry).enter(conf.requestCost()).thenApply(entered -> initial);
        for (int i = 0; i < conf.plugins().size(); i++) {
            Plugin plugin = conf.plugins().get(i);
            String name = conf.names().get(i);
            chain = chain.thenComposeAsync(st -> st.stop() != null ? CompletableFuture.completedFuture(st)
                    : deadlines.passed(ctx) ? CompletableFuture.failedFuture(CallDeadlines.DeadlinePassed.INSTANCE)
                    : PluginCalls.invoke(name, () -> plugin.onRequest(st.request(), ctx)).thenApply(d -> next(st, d, name)), steps);
        }
        if (conf.checksBeforeUpstream()) {
            chain = chain.thenApplyAsync(st -> st.stop() != null ? st : beforeUpstream(conf, request, st, ctx),
                    inline != null ? inline : plugins.inline());
        }
        long id = request.rpcId();
        CompletableFuture<Reply<RequestOutcome>> reply = deadlines.withDeadline(chain.handle((st, err) -> fitted(conf, "request",
                () -> requestReply(conf, request, id, st, err), () -> new Reply<>(A6Encoder.requestStop(id, ReplyFrames.UNAVAILABLE),
                        new RequestOutcome(RequestOutcome.Kind.ERROR, request, request, RequestRewrite.NONE,
                                Optional.of(ReplyFrames.UNAVAILABLE), Optional.empty())))), hold, cut -> {
            metrics.outcome("request", cut.label);
            LOG.warn("request call on {} {}: answered 503", conf.identity().key(), cut.because(deadline));
            return new Reply<>(A6Encoder.requestStop(id, ReplyFrames.UNAVAILABLE), new RequestOutcome(RequestOutcome.Kind.DEADLINE,
                    request, request, RequestRewrite.NONE, Optional.of(ReplyFrames.UNAVAILABLE), Optional.empty()));
        });
        if (exchange.isPresent()) {
            reply = reply.thenApply(r -> closeIfFinal(r, request));
        }
        CompletableFuture<Answer> answer = !conf.observesOutcomes() ? reply.thenApply(r -> new Answer(r.frame(), Answer.NOTHING))
                : reply.thenApply(r -> new Answer(r.frame(), () -> observers.tell(pool, conf, "request", p -> p.onRequestOutcome(r.outcome(), ctx))));
        return answer;
    }

    /**
     * The request phase's reply for the chain's end state ({@code err}: how it failed). The frame is
     * built before the outcome is counted: one too large for a frame is counted as such instead.
     */
    private Reply<RequestOutcome> requestReply(PreparedConf conf, HttpRequest request, long id, RequestState st, Throwable err) {
        if (err != null) {
            PluginCalls.logFailure(conf, "request", err);
            metrics.outcome("request", "error");
            return new Reply<>(A6Encoder.requestStop(id, ReplyFrames.UNAVAILABLE), new RequestOutcome(RequestOutcome.Kind.ERROR,
                    request, request, RequestRewrite.NONE, Optional.of(ReplyFrames.UNAVAILABLE), Optional.empty()));
        }
        if (st.stop() != null) {
            OutboundFrame frame = A6Encoder.requestStop(id, st.stop());
            metrics.outcome("request", "stop");
            return new Reply<>(frame, new RequestOutcome(RequestOutcome.Kind.STOP,
                    request, st.request(), RequestRewrite.NONE, Optional.of(st.stop()), Optional.of(st.haltedBy())));
        }
        if (st.rewrite().isEmpty()) {
            metrics.outcome("request", "pass");
            return new Reply<>(A6Encoder.requestNone(id), new RequestOutcome(RequestOutcome.Kind.PASS,
                    request, st.request(), RequestRewrite.NONE, Optional.empty(), Optional.empty()));
        }
        OutboundFrame frame = A6Encoder.requestRewrite(id, st.rewrite(), ReplyFrames.contentLengthFor(st.rewrite()));
        metrics.outcome("request", "rewrite");
        return new Reply<>(frame, new RequestOutcome(RequestOutcome.Kind.REWRITE, request, st.request(), st.rewrite(),
                Optional.empty(), Optional.empty()));
    }

    /**
     * {@code build}'s reply, or {@code instead} when that reply does not fit one frame (a body that
     * grew by masking or decoding, a huge Stop body): written, it would fail in the encoder and
     * close the connection, which in the response phase makes APISIX send the original body.
     */
    private <O> Reply<O> fitted(PreparedConf conf, String phase, java.util.function.Supplier<Reply<O>> build,
                                java.util.function.Supplier<Reply<O>> instead) {
        try {
            return build.get();
        } catch (FrameTooLargeException e) {
            metrics.outcome(phase, "too_large");
            LOG.warn("{} reply on {} too large for one frame ({} bytes): answered a safe 503", phase, conf.identity().key(),
                    e.payloadBytes());
            return instead.get();
        }
    }

    /**
     * A request phase that ends without an upstream call (Stop, error, deadline) never gets a
     * response phase (conformance C5): its exchange is closed now, so a flood of refused calls
     * cannot push the exchanges of live calls out of the bounded store. Plugins and observers of
     * this call keep their reference to it.
     */
    private Reply<RequestOutcome> closeIfFinal(Reply<RequestOutcome> r, HttpRequest request) {
        if (r.outcome().stopped()) {
            request.var(PreparedConf.REQUEST_ID_VAR).ifPresent(exchanges::close);
        }
        return r;
    }

    /** Asks each plugin of the conf, in order, whether the call may reach the upstream; the first Stop is final. */
    private static RequestState beforeUpstream(PreparedConf conf, HttpRequest received, RequestState st, CallContext ctx) {
        RequestOutcome pending = new RequestOutcome(st.rewrite().isEmpty() ? RequestOutcome.Kind.PASS : RequestOutcome.Kind.REWRITE,
                received, st.request(), st.rewrite(), Optional.empty(), Optional.empty());
        for (int i = 0; i < conf.plugins().size(); i++) {
            String name = conf.names().get(i);
            Optional<Stop> stop;
            try {
                stop = conf.plugins().get(i).beforeUpstream(pending, ctx);
            } catch (Throwable t) {
                throw new PluginCalls.PluginFailure(name, t);
            }
            if (stop == null) {
                throw new PluginCalls.PluginFailure(name, new IllegalStateException("plugin " + name + " returned no result"));
            }
            if (stop.isPresent()) {
                return new RequestState(st.request(), st.rewrite(), stop.get(), name);
            }
        }
        return st;
    }

    private static RequestState next(RequestState st, RequestDecision d, String plugin) {
        if (d instanceof RequestDecision.Halt halt) {
            if (halt.stop() == null) { // read as "not stopped", the call would pass: fail closed instead
                throw new PluginCalls.PluginFailure(plugin, new IllegalStateException("plugin " + plugin + " halted with no Stop"));
            }
            return new RequestState(st.request(), st.rewrite(), halt.stop(), plugin);
        }
        RequestRewrite rw = ((RequestDecision.Proceed) d).rewrite();
        return new RequestState(st.request().apply(rw), st.rewrite().then(rw), null, null);
    }

    public CompletableFuture<OutboundFrame> response(PreparedConf conf, HttpResponse response, long startNanos) {
        return response(conf, response, startNanos, plugins, ExtraInfo.NONE).thenApply(Answer::observed);
    }

    /** @param entry as for {@link #request(PreparedConf, HttpRequest, long, PluginEntry, ExtraInfo)} */
    CompletableFuture<Answer> response(PreparedConf conf, HttpResponse response, long startNanos, PluginEntry entry,
                                       ExtraInfo extraInfo) {
        Optional<String> requestId = response.var(PreparedConf.REQUEST_ID_VAR);
        Optional<Attributes> exchange = exchangeFor(conf, requestId);
        HeldDeadline hold = new HeldDeadline(startNanos, deadline, deadline, nanoClock);
        CallContext ctx = context(conf, exchange, hold, extraInfo);
        PluginPool pool = largeBodies.poolFor(response.body(), plugins);
        InlinePhase inline = pool == plugins ? InlinePhase.start(conf, Phase.RESPONSE, response.body(), entry, pool, nanoClock) : null;
        runsInline(extraInfo, inline);
        try {
            return measured(runResponse(conf, response, ctx, exchange, requestId, hold, pool, inline, entry), inline);
        } finally {
            if (inline != null) {
                inline.finish(); // the loop's part is done (or failed): what waited continues on a plugin thread
            }
        }
    }

    private CompletableFuture<Answer> runResponse(PreparedConf conf, HttpResponse response, CallContext ctx,
                                                  Optional<Attributes> exchange, Optional<String> requestId, HeldDeadline hold,
                                                  PluginPool pool, InlinePhase inline, PluginEntry entry) {
        Executor steps = inline != null ? inline : pool.inline();
        CompletableFuture<HttpResponse> chain = firstStep(inline, pool, entry).enter(conf.responseCost()).thenApply(entered -> response);
        for (int i = 0; i < conf.plugins().size(); i++) {
            Plugin plugin = conf.plugins().get(i);
            String name = conf.names().get(i);
            chain = chain.thenComposeAsync(r -> deadlines.passed(ctx) ? CompletableFuture.<HttpResponse>failedFuture(CallDeadlines.DeadlinePassed.INSTANCE)
                    : PluginCalls.invoke(name, () -> plugin.onResponse(r, ctx)).thenApply(r::apply), steps);
        }
        long id = response.rpcId();
        CompletableFuture<Reply<ResponseOutcome>> reply = deadlines.withDeadline(chain.handle((r, err) -> {
            if (conf.correlated()) {
                requestId.ifPresent(exchanges::close);
            }
            if (err != null) {
                PluginCalls.logFailure(conf, "response", err);
                metrics.outcome("response", "error");
                return new Reply<>(ReplyFrames.safeError(id), new ResponseOutcome(ResponseOutcome.Kind.ERROR, response, ReplyFrames.safeErrorResponse(response)));
            }
            return fitted(conf, "response", () -> {
                boolean same = r.equals(response);
                Reply<ResponseOutcome> built = new Reply<>(ReplyFrames.completeResponse(id, r),
                        new ResponseOutcome(same ? ResponseOutcome.Kind.PASS : ResponseOutcome.Kind.CHANGED, response, r));
                metrics.outcome("response", same ? "pass" : "rewrite");
                return built;
            }, () -> new Reply<>(ReplyFrames.safeError(id), new ResponseOutcome(ResponseOutcome.Kind.ERROR, response, ReplyFrames.safeErrorResponse(response))));
        }), hold, cut -> {
            metrics.outcome("response", cut.label);
            LOG.warn("response call on {} {}: answered a safe 503", conf.identity().key(), cut.because(deadline));
            return new Reply<>(ReplyFrames.safeError(id), new ResponseOutcome(ResponseOutcome.Kind.DEADLINE, response, ReplyFrames.safeErrorResponse(response)));
        });
        CompletableFuture<Answer> answer = !conf.observesOutcomes() ? reply.thenApply(r -> new Answer(r.frame(), Answer.NOTHING))
                : reply.thenApply(r -> new Answer(r.frame(), () -> observers.tell(pool, conf, "response", p -> p.onResponseOutcome(r.outcome(), ctx))));
        return answer;
    }

    /**
     * The answer to a call whose conf was refused at PrepareConf ({@link ConfBinding.FailClosed}):
     * Stop 503 in the request phase, the safe 503 response in the response phase. The call ends
     * here, so its exchange is closed, as after any response phase: no plugin of the refused conf
     * will, and left open, each call of such a route would hold one until its idle time, pushing
     * the live exchanges of other routes out of the bounded store. Called on the event loop (O(1)).
     */
    OutboundFrame refused(Phase phase, long id, Optional<String> requestId) {
        requestId.filter(r -> !r.isEmpty()).ifPresent(exchanges::close);
        boolean request = phase == Phase.REQUEST;
        metrics.outcome(request ? "request" : "response", "conf_refused");
        return request ? A6Encoder.requestStop(id, ReplyFrames.UNAVAILABLE) : ReplyFrames.safeError(id);
    }

    private Optional<Attributes> exchangeFor(PreparedConf conf, Optional<String> requestId) {
        if (!conf.correlated() || requestId.isEmpty() || requestId.get().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(exchanges.open(requestId.get()));
    }

    private CallContext context(PreparedConf conf, Optional<Attributes> exchange, HeldDeadline hold, ExtraInfo extraInfo) {
        return new CallContext(new Attributes(), exchange, conf.identity(), hold.deadline(), hold, extraInfo);
    }

    /**
     * Shutdown: every call still running is answered now with its fail-closed reply (Stop 503 in
     * the request phase, the safe error response in the response phase), and so is every call
     * that arrives from now on; their remaining plugins are not run. Replies go back to the
     * connections as usual: the caller closes them once answered.
     */
    public void cutShort() {
        deadlines.cutShort();
    }

    /** For an RPC that is not a call (a PrepareConf still being prepared): see {@link CallDeadlines#onCutShort}. */
    void onCutShort(CompletableFuture<?> work, Runnable onCut) {
        deadlines.onCutShort(work, onCut);
    }

    /** Calls answered by this dispatcher that have no reply yet. */
    int inFlight() {
        return deadlines.inFlight();
    }
}

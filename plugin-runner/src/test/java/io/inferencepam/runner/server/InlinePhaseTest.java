package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.api7.A6.HTTPReqCall.Action;
import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.protocol.OutboundFrame;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.ExtraInfo;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestOutcome;
import io.inferencepam.runner.spi.Requirements;
import io.inferencepam.runner.spi.ResponseChange;
import io.inferencepam.runner.spi.Stop;
import io.inferencepam.runner.spi.Vars;
import io.netty.channel.DefaultEventLoop;
import io.netty.util.HashedWheelTimer;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Phases whose every plugin declares its hook non-blocking and cheap ({@link Plugin#inlineSafe})
 * run on the event loop that read the call; anything else, and anything that waits, runs on the
 * plugin threads as before. Which thread ran a hook is observed by its name.
 */
class InlinePhaseTest {
    private final HashedWheelTimer timer = new HashedWheelTimer(10, TimeUnit.MILLISECONDS);
    private final PluginPool pool = new PluginPool("plugin", 2, 1000, timer);
    private final DefaultEventLoop loop = new DefaultEventLoop(new DefaultThreadFactory("test-io", true));
    private final LoopHandOff handOff = new LoopHandOff(loop, pool);
    private final CallDispatcher dispatcher = new CallDispatcher(pool, new LargeBodyLane(pool, 64 * 1024), pool, timer,
            new ExchangeStore(Duration.ofMinutes(1), 100), Duration.ofSeconds(5), new RunnerMetrics(new PrometheusMetrics()));

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        pool.shutdownNow();
        timer.stop();
    }

    /** Records the thread its hooks run on; declares itself inline-safe when asked to. */
    private static class Probe implements Plugin {
        final List<String> threads = new CopyOnWriteArrayList<>();
        final List<String> observedOn = new CopyOnWriteArrayList<>();
        private final boolean inline;

        Probe(boolean inline) {
            this.inline = inline;
        }

        // No @Override: compiles against a runtime without the SPI method (the test then fails on the thread).
        public boolean inlineSafe(Phase phase) {
            return inline;
        }

        @Override
        public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
            threads.add(Thread.currentThread().getName());
            return RequestDecision.proceed();
        }

        @Override
        public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
            threads.add(Thread.currentThread().getName());
            return ResponseChange.unchanged();
        }

        @Override
        public void onRequestOutcome(RequestOutcome outcome, CallContext context) {
            observedOn.add(Thread.currentThread().getName());
        }
    }

    private static PreparedConf conf(Plugin... plugins) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < plugins.length; i++) {
            names.add("p" + i);
        }
        return PreparedConf.of(new ConfIdentity("route#r#ext-plugin-pre-req#1", "r", "ext-plugin-pre-req", "h", 1),
                names, List.of(plugins));
    }

    private static HttpRequest request(Optional<Body> body) {
        return new HttpRequest(7, "POST", "/v1/chat", Headers.empty(), Headers.empty(), "127.0.0.1", Vars.of(Map.of()), body);
    }

    private String loopName() throws Exception {
        return loop.submit(() -> Thread.currentThread().getName()).get(5, TimeUnit.SECONDS);
    }

    /**
     * Starts a call on the event loop and tells the observers where the reply completed (on the
     * loop when it completed there), as {@code RpcSession} does; waits for the answer.
     */
    private CallDispatcher.Answer onLoop(Supplier<CompletableFuture<CallDispatcher.Answer>> call) throws Exception {
        CompletableFuture<CompletableFuture<CallDispatcher.Answer>> started = new CompletableFuture<>();
        loop.execute(() -> started.complete(call.get().thenApply(a -> {
            a.afterReply().run();
            return a;
        })));
        return started.get(5, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS);
    }

    private CallDispatcher.Answer request(PreparedConf c, Optional<Body> body, ExtraInfo extra) throws Exception {
        return onLoop(() -> dispatcher.request(c, request(body), System.nanoTime(), handOff, extra));
    }

    private static int stopStatus(OutboundFrame f) {
        var resp = io.github.api7.A6.HTTPReqCall.Resp.getRootAsResp(f.payload().duplicate().order(ByteOrder.LITTLE_ENDIAN));
        if (resp.actionType() != Action.Stop) {
            return -1;
        }
        return ((io.github.api7.A6.HTTPReqCall.Stop) resp.action(new io.github.api7.A6.HTTPReqCall.Stop())).status();
    }

    @Test
    void aPhaseOfInlineSafePluginsRunsOnTheEventLoop() throws Exception {
        Probe a = new Probe(true);
        Probe b = new Probe(true);
        CallDispatcher.Answer answer = request(conf(a, b), Optional.empty(), ExtraInfo.NONE);
        assertThat(stopStatus(answer.frame())).isEqualTo(-1);
        assertThat(a.threads).containsExactly(loopName());
        assertThat(b.threads).containsExactly(loopName());
    }

    @Test
    void theResponsePhaseRunsOnTheEventLoopToo() throws Exception {
        Probe a = new Probe(true);
        HttpResponse r = new HttpResponse(8, 200, Headers.of("content-type", "application/json"), Vars.of(Map.of()),
                Optional.of(Body.utf8("{}")));
        onLoop(() -> dispatcher.response(conf(a), r, System.nanoTime(), handOff, ExtraInfo.NONE));
        assertThat(a.threads).containsExactly(loopName());
    }

    @Test
    void oneNonInlinePluginInTheConfHandsThePhaseOff() throws Exception {
        Probe a = new Probe(true);
        Probe b = new Probe(false);
        request(conf(a, b), Optional.empty(), ExtraInfo.NONE);
        assertThat(a.threads).singleElement().asString().startsWith("plugin-");
        assertThat(b.threads).singleElement().asString().startsWith("plugin-");
    }

    @Test
    void aBodyAboveTheInlineLimitIsHandedOff() throws Exception {
        Probe a = new Probe(true);
        request(conf(a), Optional.of(Body.wrap(new byte[InlinePhase.MAX_BODY_BYTES + 1])), ExtraInfo.NONE);
        assertThat(a.threads).singleElement().asString().startsWith("plugin-");
    }

    @Test
    void outcomeObserversNeverRunOnTheEventLoop() throws Exception {
        Probe a = new Probe(true);
        request(conf(a), Optional.empty(), ExtraInfo.NONE);
        assertThat(a.threads).containsExactly(loopName());
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (a.observedOn.isEmpty() && System.nanoTime() < until) {
            Thread.sleep(1);
        }
        assertThat(a.observedOn).singleElement().asString().startsWith("plugin-");
    }

    @Test
    void aSlowInlinePluginIsDemotedToThePluginThreads() throws Exception {
        Probe slow = new Probe(true) {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2); // CPU, declared cheap: a wrong declaration
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
                return super.onRequest(request, context);
            }
        };
        PreparedConf c = conf(slow);
        for (int i = 0; i < 12; i++) {
            request(c, Optional.empty(), ExtraInfo.NONE);
        }
        assertThat(slow.threads.get(0)).isEqualTo(loopName());
        // each run counts at most 100 µs (a descheduled loop must not demote a cheap phase): demoted within three calls
        assertThat(slow.threads.subList(3, 12)).allSatisfy(t -> assertThat(t).startsWith("plugin-"));
    }

    @Test
    void anExceptionInlineIsAStop503() throws Exception {
        Probe throwing = new Probe(true) {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                super.onRequest(request, context);
                throw new IllegalStateException("boom");
            }
        };
        CallDispatcher.Answer answer = request(conf(throwing), Optional.empty(), ExtraInfo.NONE);
        assertThat(throwing.threads).containsExactly(loopName());
        assertThat(stopStatus(answer.frame())).isEqualTo(503);
    }

    @Test
    void aStopInlineIsFinal() throws Exception {
        Probe stopping = new Probe(true) {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                super.onRequest(request, context);
                return RequestDecision.stop(Stop.openAiError(403, "permission_error", "denied", "no"));
            }
        };
        Probe later = new Probe(true);
        CallDispatcher.Answer answer = request(conf(stopping, later), Optional.empty(), ExtraInfo.NONE);
        assertThat(stopping.threads).containsExactly(loopName());
        assertThat(later.threads).isEmpty();
        assertThat(stopStatus(answer.frame())).isEqualTo(403);
    }

    /** Asks {@code later} and the body, then records where its hook continued and what it got. */
    private static class Asking extends Probe {
        final List<String> continuedOn = new CopyOnWriteArrayList<>();
        final List<Integer> bodies = new CopyOnWriteArrayList<>();

        Asking() {
            super(true);
        }

        @Override
        public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
            super.onRequest(request, context);
            return context.fetch(request, Requirements.vars("later").withRequestBody()).thenCompose(full -> {
                continuedOn.add(Thread.currentThread().getName() + "=" + full.var("later").orElse("-"));
                bodies.add(full.body().map(Body::length).orElse(-1));
                return RequestDecision.proceed();
            });
        }
    }

    /** APISIX answering every later question on the event loop, as RpcSession delivers it, with a body of {@code bodyBytes}. */
    private CallExtraInfo answering(int bodyBytes) {
        return new CallExtraInfo(Optional.empty(), FrameVars.ASK_ABSENT, List.of(), Map.of(), Optional.empty(), loop,
                (who, vars, body, answers) -> loop.execute(() -> {
                    List<Optional<byte[]>> list = new ArrayList<>();
                    vars.forEach(v -> list.add(Optional.of("v".getBytes())));
                    if (body) {
                        list.add(Optional.of(new byte[bodyBytes]));
                    }
                    answers.complete(list);
                }),
                dispatcher::laneFor);
    }

    /**
     * Issue 15: the answer to a fetch asked by an inline phase, with a small body, continues on the
     * event loop that received it, and so does the rest of the chain: no hand-off for a cheap phase
     * that asks for its body once it has decided to (pam-auth after a cached token).
     */
    @Test
    void aFetchAnsweredWithASmallBodyContinuesOnTheEventLoop() throws Exception {
        Asking asking = new Asking();
        Probe next = new Probe(true);
        CallDispatcher.Answer answer = request(conf(asking, next), Optional.empty(), answering(InlinePhase.MAX_BODY_BYTES));
        String loopThread = loopName();
        assertThat(stopStatus(answer.frame())).isEqualTo(-1);
        assertThat(asking.threads).containsExactly(loopThread);
        assertThat(asking.continuedOn).containsExactly(loopThread + "=v");
        assertThat(asking.bodies).containsExactly(InlinePhase.MAX_BODY_BYTES);
        assertThat(next.threads).containsExactly(loopThread);
    }

    /** A body above the inline limit is scanned on a plugin thread, as one asked before the chain would be. */
    @Test
    void aFetchAnsweredWithALargeBodyContinuesOnAPluginThread() throws Exception {
        Asking asking = new Asking();
        Probe next = new Probe(true);
        request(conf(asking, next), Optional.empty(), answering(InlinePhase.MAX_BODY_BYTES + 1));
        assertThat(asking.threads).containsExactly(loopName());
        assertThat(asking.continuedOn).singleElement().asString().startsWith("plugin-").endsWith("=v");
        assertThat(next.threads).singleElement().asString().startsWith("plugin-");
    }

    /**
     * The loop's time of a phase is its parts' sum: a continuation that is slow on the loop (a wrong
     * declaration) demotes the phase like a slow first part, and the fetch then continues on a plugin thread.
     */
    @Test
    void aSlowContinuationOnTheLoopDemotesThePhase() throws Exception {
        Asking slow = new Asking() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return super.onRequest(request, context).thenApply(d -> {
                    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(2); // CPU, declared cheap
                    while (System.nanoTime() < until) {
                        Thread.onSpinWait();
                    }
                    return d;
                });
            }
        };
        PreparedConf c = conf(slow);
        for (int i = 0; i < 12; i++) {
            request(c, Optional.empty(), answering(10));
        }
        assertThat(slow.continuedOn.get(0)).startsWith(loopName());
        assertThat(slow.threads.subList(3, 12)).allSatisfy(t -> assertThat(t).startsWith("plugin-"));
        assertThat(slow.continuedOn.subList(3, 12)).allSatisfy(t -> assertThat(t).startsWith("plugin-"));
    }

    /**
     * The loop's time as the phase's cost sees it: advanced only by the test, so the cost of each
     * part is exact and no host load can make a phase look cheap or expensive.
     */
    private final java.util.concurrent.atomic.AtomicLong clock = new java.util.concurrent.atomic.AtomicLong();
    private final CallDispatcher clocked = new CallDispatcher(pool, new LargeBodyLane(pool, 64 * 1024), pool, timer,
            new ExchangeStore(Duration.ofMinutes(1), 100), Duration.ofSeconds(5), Duration.ofSeconds(5),
            new RunnerMetrics(new PrometheusMetrics()), clock::get);

    private static final long CHEAP_NANOS = TimeUnit.MICROSECONDS.toNanos(2);

    /**
     * A call on the event loop of {@link #clocked}, whose reply is written the way RpcSession
     * writes a reply completed on the loop (in the answer's callback), that write taking
     * {@code writeNanos} on the test's clock, and then the observers handed over.
     */
    private CallDispatcher.Answer clockedRequest(PreparedConf c, ExtraInfo extra, long writeNanos) throws Exception {
        CompletableFuture<CompletableFuture<CallDispatcher.Answer>> started = new CompletableFuture<>();
        loop.execute(() -> started.complete(clocked.request(c, request(Optional.empty()), clock.get(), handOff, extra)
                .thenApply(a -> {
                    clock.addAndGet(writeNanos); // ctx.writeAndFlush: the connection's write, not the phase
                    a.afterReply().run();
                    return a;
                })));
        return started.get(5, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS);
    }

    /**
     * Review A (low): after a fetch answered on the loop, the reply's write and the observers'
     * hand-off ran inside the resumed part and were charged to the phase. A cheap phase with a
     * slow connection write then looked expensive and left the loop, although without a fetch the
     * same write is never charged.
     */
    @Test
    void theReplysWriteAfterAFetchIsNotChargedToThePhase() throws Exception {
        Asking cheap = new Asking() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                clock.addAndGet(CHEAP_NANOS);
                return super.onRequest(request, context).thenApply(d -> {
                    clock.addAndGet(CHEAP_NANOS);
                    return d;
                });
            }
        };
        PreparedConf c = conf(cheap);
        long write = TimeUnit.MILLISECONDS.toNanos(2);
        for (int i = 0; i < 12; i++) {
            assertThat(stopStatus(clockedRequest(c, answering(10), write).frame())).isEqualTo(-1);
        }
        String loopThread = loopName();
        assertThat(cheap.threads).hasSize(12).allSatisfy(t -> assertThat(t).isEqualTo(loopThread));
        assertThat(cheap.continuedOn).hasSize(12).allSatisfy(t -> assertThat(t).startsWith(loopThread));
    }

    /**
     * Review A (low): a phase that asks two fetches at once recorded one sample per answer, the
     * first a part of the run only. A phase costing 41 µs on the loop (over the 25 µs ceiling)
     * averaged about 21 µs that way and stayed on the loop for good; as one sample per run it
     * leaves within eight calls.
     */
    @Test
    void twoFetchesAtOnceAreOneSampleOfThePhase() throws Exception {
        List<String> continuedOn = new CopyOnWriteArrayList<>();
        Probe twoAtOnce = new Probe(true) {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                super.onRequest(request, context);
                clock.addAndGet(TimeUnit.MICROSECONDS.toNanos(1));
                CompletionStage<HttpRequest> a = context.fetch(request, Requirements.vars("a"));
                CompletionStage<HttpRequest> b = context.fetch(request, Requirements.vars("b"));
                return a.thenCombine(b, (x, y) -> {
                    continuedOn.add(Thread.currentThread().getName());
                    clock.addAndGet(TimeUnit.MICROSECONDS.toNanos(40)); // after both answers: the phase's expensive part
                    return RequestDecision.PROCEED;
                });
            }
        };
        PreparedConf c = conf(twoAtOnce);
        for (int i = 0; i < 20; i++) {
            assertThat(stopStatus(clockedRequest(c, answering(10), 0).frame())).isEqualTo(-1);
        }
        assertThat(twoAtOnce.threads.get(0)).isEqualTo(loopName());
        assertThat(twoAtOnce.threads.subList(8, 20)).allSatisfy(t -> assertThat(t).startsWith("plugin-"));
        assertThat(continuedOn.subList(8, 20)).allSatisfy(t -> assertThat(t).startsWith("plugin-"));
    }
}

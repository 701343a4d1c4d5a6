package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.api7.A6.HTTPReqCall.Action;
import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.protocol.OutboundFrame;
import io.inferencepam.runner.spi.Attributes;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.ResponseChange;
import io.inferencepam.runner.spi.Stop;
import io.inferencepam.runner.spi.Vars;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import io.netty.util.HashedWheelTimer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CallDispatcherTest {
    private final HashedWheelTimer timer = new HashedWheelTimer(10, TimeUnit.MILLISECONDS);
    private final PluginPool pool = new PluginPool("pool", 2, 1000, timer);
    private final ExchangeStore exchanges = new ExchangeStore(Duration.ofMinutes(1), 1000);
    /**
     * The dispatchers' clock and deadline timer: a deadline passes only when a test advances it.
     * On the host's clock, a plugin thread that a loaded host did not schedule within the 200 or
     * 300 ms deadlines made calls that should pass or hold answer 503 (seen at load 16-18).
     */
    private final ManualTime time = new ManualTime();
    private final CallDispatcher dispatcher = dispatcher(exchanges, Duration.ofMillis(300), Duration.ofMillis(300));

    private CallDispatcher dispatcher(ExchangeStore store, Duration deadline, Duration maxHold) {
        return new CallDispatcher(pool, new LargeBodyLane(pool, Integer.MAX_VALUE), pool, time, store, deadline, maxHold,
                new RunnerMetrics(new PrometheusMetrics()), time);
    }

    @AfterEach
    void stop() {
        pool.shutdownNow();
        timer.stop();
    }

    private static PreparedConf conf(Plugin... plugins) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < plugins.length; i++) {
            names.add("p" + i);
        }
        return PreparedConf.of(new ConfIdentity("route#r#ext-plugin-pre-req#1", "r", "ext-plugin-pre-req", "h", 1),
                names, List.of(plugins));
    }

    private static HttpRequest request(Map<String, String> vars) {
        return new HttpRequest(11, "POST", "/v1/chat", Headers.empty(), Headers.of("authorization", "Bearer secret"),
                "127.0.0.1", Vars.of(vars), Optional.empty());
    }

    private static io.github.api7.A6.HTTPReqCall.Resp reqReply(OutboundFrame f) {
        return io.github.api7.A6.HTTPReqCall.Resp.getRootAsResp(f.payload().duplicate().order(ByteOrder.LITTLE_ENDIAN));
    }

    private static io.github.api7.A6.HTTPRespCall.Resp respReply(OutboundFrame f) {
        return io.github.api7.A6.HTTPRespCall.Resp.getRootAsResp(f.payload().duplicate().order(ByteOrder.LITTLE_ENDIAN));
    }

    private static String body(io.github.api7.A6.HTTPRespCall.Resp r) {
        byte[] b = new byte[r.bodyLength()];
        r.bodyAsByteBuffer().get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private OutboundFrame run(PreparedConf c, HttpRequest r) throws Exception {
        return dispatcher.request(c, r, time.getAsLong()).get(5, TimeUnit.SECONDS);
    }

    @Test
    void aStopIsFinalEvenIfALaterPluginRewrites() throws Exception {
        List<String> ran = new ArrayList<>();
        Plugin stop = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                ran.add("stop");
                return RequestDecision.stop(Stop.openAiError(403, "permission_error", "denied", "no"));
            }
        };
        Plugin rewrite = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                ran.add("rewrite");
                return RequestDecision.proceed(RequestRewrite.builder().setHeader("x", "y").build());
            }
        };
        var reply = reqReply(run(conf(stop, rewrite), request(Map.of())));
        assertThat(reply.actionType()).isEqualTo(Action.Stop);
        var s = (io.github.api7.A6.HTTPReqCall.Stop) reply.action(new io.github.api7.A6.HTTPReqCall.Stop());
        assertThat(s.status()).isEqualTo(403);
        assertThat(ran).containsExactly("stop");
    }

    /** A plugin listed first that checks, before the upstream, what a later plugin learned (pam-record's admission). */
    private static final class Gate implements Plugin {
        final List<io.inferencepam.runner.spi.RequestOutcome> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
        final List<String> seenLater = new java.util.concurrent.CopyOnWriteArrayList<>();
        final Stop answer;

        Gate(Stop answer) {
            this.answer = answer;
        }

        @Override
        public Optional<Stop> beforeUpstream(io.inferencepam.runner.spi.RequestOutcome pending, CallContext context) {
            asked.add(pending);
            context.call().get(LEARNED).ifPresent(seenLater::add);
            return Optional.ofNullable(answer);
        }
    }

    private static final Attributes.Key<String> LEARNED = Attributes.Key.of("test.learned", String.class);

    private static Plugin learnsAndRewrites() {
        return new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                context.call().put(LEARNED, "alice");
                return RequestDecision.proceed(RequestRewrite.builder().setHeader("authorization", "Bearer upstream").build());
            }
        };
    }

    @Test
    void beforeUpstreamRunsAfterEveryPluginAndItsStopReplacesThePass() throws Exception {
        Gate gate = new Gate(Stop.openAiError(503, "service_unavailable", "audit_unavailable", "no"));
        PreparedConf c = conf(gate, learnsAndRewrites());
        assertThat(c.checksBeforeUpstream()).isTrue();
        var reply = reqReply(run(c, request(Map.of())));
        assertThat(reply.actionType()).isEqualTo(Action.Stop);
        var s = (io.github.api7.A6.HTTPReqCall.Stop) reply.action(new io.github.api7.A6.HTTPReqCall.Stop());
        assertThat(s.status()).isEqualTo(503);
        assertThat(gate.seenLater).containsExactly("alice");
        var pending = gate.asked.get(0);
        assertThat(pending.kind()).isEqualTo(io.inferencepam.runner.spi.RequestOutcome.Kind.REWRITE);
        assertThat(pending.forwarded().headers().first("authorization")).contains("Bearer upstream");
        assertThat(pending.received().headers().first("authorization")).contains("Bearer secret");
    }

    @Test
    void beforeUpstreamLetsThePassThroughAndIsNotAskedAfterAStop() throws Exception {
        Gate gate = new Gate(null);
        var pass = reqReply(run(conf(gate, learnsAndRewrites()), request(Map.of())));
        assertThat(pass.actionType()).isEqualTo(Action.Rewrite);
        assertThat(gate.asked).hasSize(1);
        Plugin deny = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return RequestDecision.stop(Stop.openAiError(403, "permission_error", "denied", "no"));
            }
        };
        var stopped = reqReply(run(conf(gate, deny), request(Map.of())));
        var s = (io.github.api7.A6.HTTPReqCall.Stop) stopped.action(new io.github.api7.A6.HTTPReqCall.Stop());
        assertThat(s.status()).isEqualTo(403);
        assertThat(gate.asked).hasSize(1);
        assertThat(conf(deny).checksBeforeUpstream()).isFalse();
    }

    @Test
    void aThrowingBeforeUpstreamFailsTheCallClosed() throws Exception {
        Plugin broken = new Plugin() {
            @Override
            public Optional<Stop> beforeUpstream(io.inferencepam.runner.spi.RequestOutcome pending, CallContext context) {
                throw new IllegalStateException("boom");
            }
        };
        var reply = reqReply(run(conf(broken), request(Map.of())));
        var s = (io.github.api7.A6.HTTPReqCall.Stop) reply.action(new io.github.api7.A6.HTTPReqCall.Stop());
        assertThat(s.status()).isEqualTo(503);
    }

    @Test
    void laterPluginsSeeEarlierRewrites() throws Exception {
        Plugin strip = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return RequestDecision.proceed(RequestRewrite.builder().removeHeader("authorization")
                        .setHeader("authorization", "Bearer injected").build());
            }
        };
        List<String> seen = new ArrayList<>();
        Plugin look = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                seen.add(request.headers().first("authorization").orElse("none"));
                return RequestDecision.proceed();
            }
        };
        var reply = reqReply(run(conf(strip, look), request(Map.of())));
        assertThat(reply.actionType()).isEqualTo(Action.Rewrite);
        assertThat(seen).containsExactly("Bearer injected");
    }

    @Test
    void aThrowingPluginFailsClosedWithAGeneric503() throws Exception {
        Plugin boom = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                throw new IllegalStateException("token Bearer secret leaked?");
            }
        };
        var reply = reqReply(run(conf(boom), request(Map.of())));
        var s = (io.github.api7.A6.HTTPReqCall.Stop) reply.action(new io.github.api7.A6.HTTPReqCall.Stop());
        assertThat(s.status()).isEqualTo(503);
        byte[] b = new byte[s.bodyLength()];
        s.bodyAsByteBuffer().get(b);
        assertThat(new String(b, StandardCharsets.UTF_8)).contains("\"error\"").doesNotContain("secret").doesNotContain("IllegalState");
    }

    @Test
    void aNullResultOrFailedStageFailsClosed() throws Exception {
        Plugin nul = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return null;
            }
        };
        Plugin failed = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return CompletableFuture.failedFuture(new RuntimeException());
            }
        };
        for (Plugin p : List.of(nul, failed)) {
            var s = (io.github.api7.A6.HTTPReqCall.Stop) reqReply(run(conf(p), request(Map.of())))
                    .action(new io.github.api7.A6.HTTPReqCall.Stop());
            assertThat(s.status()).isEqualTo(503);
        }
    }

    /**
     * Review finding: a plugin that halts with no Stop (a bug: RequestDecision.stop(null), or a
     * Halt built around a missing Stop) was read as "not stopped", so the chain went on and the call
     * passed to the upstream. It fails closed like a null result.
     */
    @Test
    void aHaltWithoutAStopFailsClosedInsteadOfPassing() throws Exception {
        Plugin haltsWithNothing = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return CompletableFuture.completedFuture(new RequestDecision.Halt(null));
            }
        };
        java.util.concurrent.atomic.AtomicBoolean laterRan = new java.util.concurrent.atomic.AtomicBoolean();
        Plugin later = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                laterRan.set(true);
                return RequestDecision.proceed();
            }
        };
        var reply = reqReply(run(conf(haltsWithNothing, later), request(Map.of())));
        assertThat(reply.actionType()).as("not a pass").isEqualTo(Action.Stop);
        assertThat(((io.github.api7.A6.HTTPReqCall.Stop) reply.action(new io.github.api7.A6.HTTPReqCall.Stop())).status()).isEqualTo(503);
        assertThat(laterRan).isFalse();
    }

    @Test
    void pluginsAfterAMissedDeadlineDoNotRunAndTheAnswerStays503() throws Exception {
        CompletableFuture<RequestDecision> late = new CompletableFuture<>();
        java.util.concurrent.atomic.AtomicBoolean secondRan = new java.util.concurrent.atomic.AtomicBoolean();
        Plugin slow = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return late;
            }
        };
        Plugin second = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                secondRan.set(true);
                return RequestDecision.proceed();
            }
        };
        CompletableFuture<OutboundFrame> answer = dispatcher.request(conf(slow, second), request(Map.of()), time.getAsLong());
        time.advance(Duration.ofMillis(300));
        var reply = reqReply(answer.get(5, TimeUnit.SECONDS));
        assertThat(((io.github.api7.A6.HTTPReqCall.Stop) reply.action(new io.github.api7.A6.HTTPReqCall.Stop())).status()).isEqualTo(503);
        time.advance(Duration.ofMillis(1));
        // the first plugin finishes after the deadline, on a plugin thread, where the chain's next step runs at once
        CompletableFuture.runAsync(() -> late.complete(RequestDecision.PROCEED), pool).get(5, TimeUnit.SECONDS);
        assertThat(secondRan).isFalse();
    }

    @Test
    void aMissedDeadlineIs503AndTheLateDecisionIsIgnored() throws Exception {
        CompletableFuture<RequestDecision> never = new CompletableFuture<>();
        Plugin slow = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return never;
            }
        };
        CompletableFuture<OutboundFrame> answer = dispatcher.request(conf(slow), request(Map.of()), time.getAsLong());
        time.advance(Duration.ofMillis(299));
        assertThat(answer).as("before the deadline").isNotDone();
        time.advance(Duration.ofMillis(1));
        var reply = reqReply(answer.get(5, TimeUnit.SECONDS));
        var s = (io.github.api7.A6.HTTPReqCall.Stop) reply.action(new io.github.api7.A6.HTTPReqCall.Stop());
        assertThat(s.status()).isEqualTo(503);
        never.complete(RequestDecision.PROCEED); // too late: nothing else happens
    }

    @Test
    void aBodyRewriteCarriesTheNewContentLength() throws Exception {
        Plugin body = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return RequestDecision.proceed(RequestRewrite.builder().body(Body.utf8("{\"a\":\"東京\"}")).build());
            }
        };
        var rw = (io.github.api7.A6.HTTPReqCall.Rewrite) reqReply(run(conf(body), request(Map.of())))
                .action(new io.github.api7.A6.HTTPReqCall.Rewrite());
        assertThat(rw.headers(0).name()).isEqualTo("content-length");
        assertThat(rw.headers(0).value()).isEqualTo("14");
    }

    @Test
    void phasesShareStateThroughRequestId() throws Exception {
        Attributes.Key<String> key = Attributes.Key.of("k", String.class);
        List<String> seen = new ArrayList<>();
        Plugin p = new Plugin() {
            @Override
            public boolean correlatesPhases() {
                return true;
            }

            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                context.exchange().orElseThrow().put(key, "from-request");
                return RequestDecision.proceed();
            }

            @Override
            public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                seen.add(context.exchange().orElseThrow().get(key).orElse("missing"));
                return ResponseChange.unchanged();
            }
        };
        PreparedConf c = conf(p);
        assertThat(c.requestNeeds().vars()).contains("request_id");
        run(c, request(Map.of("request_id", "abc")));
        dispatcher.response(c, new HttpResponse(1, 200, Headers.empty(), Vars.of(Map.of("request_id", "abc")),
                Optional.empty()), time.getAsLong()).get(5, TimeUnit.SECONDS);
        assertThat(seen).containsExactly("from-request");
        assertThat(exchanges.size()).isZero();
    }

    /**
     * A request phase that ends without an upstream call (Stop, error, deadline) never gets a
     * response phase (conformance C5): its exchange is closed at once, so a flood of 401s cannot
     * evict the exchange of a live call whose response phase comes later.
     */
    @Test
    void requestPhasesThatEndWithoutAnUpstreamCallCloseTheirExchange() throws Exception {
        int capacity = 8;
        ExchangeStore small = new ExchangeStore(Duration.ofMinutes(1), capacity);
        CallDispatcher d = dispatcher(small, Duration.ofMillis(300), Duration.ofMillis(300));
        Attributes.Key<String> key = Attributes.Key.of("k", String.class);
        Plugin p = new Plugin() {
            @Override
            public boolean correlatesPhases() {
                return true;
            }

            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                context.exchange().orElseThrow().put(key, request.path());
                return switch (request.path()) {
                    case "/stop" -> RequestDecision.stop(Stop.openAiError(401, "authentication_error", "invalid_token", "no"));
                    case "/throw" -> throw new IllegalStateException();
                    case "/never" -> new CompletableFuture<>();
                    default -> RequestDecision.proceed();
                };
            }

            @Override
            public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                return CompletableFuture.completedFuture(ResponseChange.NONE
                        .withHeader("x-seen", context.exchange().orElseThrow().get(key).orElse("missing")));
            }
        };
        PreparedConf c = conf(p);
        d.request(c, requestTo("/live", "live-call"), time.getAsLong()).get(5, TimeUnit.SECONDS);
        for (int i = 0; i < capacity * 3; i++) { // one after another: more of them than the store holds
            String path = i % 12 == 5 ? "/never" : i % 4 == 1 ? "/throw" : "/stop";
            CompletableFuture<OutboundFrame> answer = d.request(c, requestTo(path, "flood-" + i), time.getAsLong());
            if (path.equals("/never")) {
                time.advance(Duration.ofMillis(300)); // its deadline
            }
            var stopped = answer.get(5, TimeUnit.SECONDS);
            assertThat(reqReply(stopped).actionType()).isEqualTo(Action.Stop);
        }
        assertThat(small.size()).as("only the live call's exchange is open").isEqualTo(1);
        var r = respReply(d.response(c, new HttpResponse(2, 200, Headers.empty(), Vars.of(Map.of("request_id", "live-call")),
                Optional.empty()), time.getAsLong()).get(5, TimeUnit.SECONDS));
        assertThat(r.headers(0).value()).isEqualTo("/live");
        assertThat(small.size()).isZero();
    }

    private static HttpRequest requestTo(String path, String requestId) {
        return new HttpRequest(11, "POST", path, Headers.empty(), Headers.empty(), "127.0.0.1",
                Vars.of(Map.of("request_id", requestId)), Optional.empty());
    }

    /**
     * Cheap calls never queue behind calls with a large body (issue 10 item 6): those run on the
     * large-body lane. Without the lane (threshold out of reach) the two large calls hold both
     * plugin threads and the cheap calls time out here.
     */
    @Test
    void cheapCallsDoNotWaitBehindLargeBodies() throws Exception {
        PluginPool lanePool = new PluginPool("lane", 1, 100, timer);
        CallDispatcher d = new CallDispatcher(pool, new LargeBodyLane(lanePool, 1024), pool, timer, exchanges,
                Duration.ofSeconds(30), new RunnerMetrics(new PrometheusMetrics()));
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        List<String> largeThreads = new java.util.concurrent.CopyOnWriteArrayList<>();
        Plugin scan = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                if (request.body().map(Body::length).orElse(0) > 1024) {
                    largeThreads.add(Thread.currentThread().getName());
                    try {
                        release.await(); // holds its plugin thread, as a long scan of the body does
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                return RequestDecision.proceed();
            }
        };
        PreparedConf c = conf(scan);
        try {
            List<CompletableFuture<OutboundFrame>> large = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                large.add(d.request(c, withBody(4096), System.nanoTime()));
            }
            for (int i = 0; i < 20; i++) {
                var cheap = d.request(c, withBody(100), System.nanoTime()).get(10, TimeUnit.SECONDS);
                assertThat(reqReply(cheap).actionType()).isEqualTo(Action.NONE);
            }
            assertThat(large).as("the large calls are still held").noneMatch(CompletableFuture::isDone);
            release.countDown();
            for (var f : large) {
                assertThat(reqReply(f.get(10, TimeUnit.SECONDS)).actionType()).isEqualTo(Action.NONE);
            }
            assertThat(largeThreads).allMatch(t -> t.startsWith("lane-"));
        } finally {
            release.countDown();
            lanePool.shutdownNow();
        }
    }

    private static HttpRequest withBody(int bytes) {
        return new HttpRequest(12, "POST", "/v1/chat", Headers.empty(), Headers.empty(), "127.0.0.1", Vars.empty(),
                Optional.of(Body.wrap(new byte[bytes])));
    }

    /** A body that grew past one frame would close the connection: APISIX then sends the original body. */
    @Test
    void aResponseTooLargeForOneFrameIsAnsweredWithTheSafeErrorAndObservedAsAnError() throws Exception {
        List<io.inferencepam.runner.spi.ResponseOutcome> outcomes = new java.util.concurrent.CopyOnWriteArrayList<>();
        Plugin grow = new Plugin() {
            @Override
            public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                return CompletableFuture.completedFuture(ResponseChange.body(Body.wrap(new byte[0xFFFFFF])));
            }

            @Override
            public void onResponseOutcome(io.inferencepam.runner.spi.ResponseOutcome outcome, CallContext context) {
                outcomes.add(outcome);
            }
        };
        HttpResponse upstream = new HttpResponse(3, 200, Headers.of("Content-Type", "application/json"), Vars.empty(),
                Optional.of(Body.utf8("{\"email\":\"alice@example.com\"}")));
        var r = respReply(dispatcher.response(conf(grow), upstream, time.getAsLong()).get(5, TimeUnit.SECONDS));
        assertThat(r.id()).isEqualTo(3);
        assertThat(r.status()).isEqualTo(503);
        assertThat(body(r)).contains("gateway_response_policy_failed").doesNotContain("alice");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (outcomes.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(outcomes).singleElement().satisfies(o -> {
            assertThat(o.kind()).isEqualTo(io.inferencepam.runner.spi.ResponseOutcome.Kind.ERROR);
            assertThat(o.delivered().status()).isEqualTo(503);
        });
    }

    @Test
    void responseFailureNeverReturnsTheUpstreamBody() throws Exception {
        Plugin boom = new Plugin() {
            @Override
            public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                throw new IllegalStateException();
            }
        };
        HttpResponse upstream = new HttpResponse(3, 200, Headers.of("Content-Type", "application/json"), Vars.empty(),
                Optional.of(Body.utf8("{\"email\":\"alice@example.com\"}")));
        var r = respReply(dispatcher.response(conf(boom), upstream, time.getAsLong()).get(5, TimeUnit.SECONDS));
        assertThat(r.status()).isEqualTo(503);
        assertThat(body(r)).doesNotContain("alice").contains("\"error\"");
    }

    @Test
    void theResponseAlwaysCarriesACompleteHeaderSet() throws Exception {
        HttpResponse upstream = new HttpResponse(3, 200, Headers.of("Content-Type", "text/event-stream",
                "Transfer-Encoding", "chunked", "Content-Encoding", "gzip", "X-Up", "1"), Vars.empty(), Optional.empty());
        var r = respReply(dispatcher.response(conf(new Plugin() { }), upstream, time.getAsLong()).get(5, TimeUnit.SECONDS));
        List<String> names = new ArrayList<>();
        for (int i = 0; i < r.headersLength(); i++) {
            names.add(r.headers(i).name());
        }
        assertThat(names).containsExactly("Content-Type", "Content-Encoding", "X-Up");
        assertThat(r.bodyLength()).isZero();
    }

    @Test
    void aChangedBodyGetsItsOwnLength() throws Exception {
        Plugin mask = new Plugin() {
            @Override
            public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                return CompletableFuture.completedFuture(ResponseChange.body(Body.utf8("[EMAIL]")));
            }
        };
        HttpResponse upstream = new HttpResponse(3, 200, Headers.of("Content-Type", "text/plain", "Content-Length", "17"),
                Vars.empty(), Optional.of(Body.utf8("alice@example.com")));
        var r = respReply(dispatcher.response(conf(mask), upstream, time.getAsLong()).get(5, TimeUnit.SECONDS));
        assertThat(body(r)).isEqualTo("[EMAIL]");
        assertThat(r.headers(1).name()).isEqualTo("Content-Length");
        assertThat(r.headers(1).value()).isEqualTo("7");
    }

    /** Records what an outcome observer saw, and on which thread. */
    private static final class Observer implements Plugin {
        final java.util.concurrent.LinkedBlockingQueue<Object> seen = new java.util.concurrent.LinkedBlockingQueue<>();
        final java.util.concurrent.LinkedBlockingQueue<String> threads = new java.util.concurrent.LinkedBlockingQueue<>();
        final List<String> ranOnRequest = new java.util.concurrent.CopyOnWriteArrayList<>();
        final RuntimeException failWith;

        Observer(RuntimeException failWith) {
            this.failWith = failWith;
        }

        @Override
        public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
            ranOnRequest.add("ran");
            return RequestDecision.proceed();
        }

        @Override
        public void onRequestOutcome(io.inferencepam.runner.spi.RequestOutcome outcome, CallContext context) {
            threads.add(Thread.currentThread().getName());
            seen.add(outcome);
            if (failWith != null) {
                throw failWith;
            }
        }

        @Override
        public void onResponseOutcome(io.inferencepam.runner.spi.ResponseOutcome outcome, CallContext context) {
            threads.add(Thread.currentThread().getName());
            seen.add(outcome);
        }

        Object next() throws InterruptedException {
            Object o = seen.poll(5, TimeUnit.SECONDS);
            assertThat(o).as("observer was called").isNotNull();
            return o;
        }
    }

    @Test
    void anEarlierPluginObservesTheStopOfALaterOneAndTheStopStaysFinal() throws Exception {
        Observer first = new Observer(null);
        Plugin deny = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return RequestDecision.stop(Stop.openAiError(403, "permission_error", "denied", "no"));
            }
        };
        Observer afterTheStop = new Observer(null);
        PreparedConf c = conf(first, deny, afterTheStop);
        assertThat(c.observesOutcomes()).isTrue();
        var reply = reqReply(run(c, request(Map.of())));
        var s = (io.github.api7.A6.HTTPReqCall.Stop) reply.action(new io.github.api7.A6.HTTPReqCall.Stop());
        assertThat(s.status()).isEqualTo(403);
        for (Observer o : List.of(first, afterTheStop)) {
            var outcome = (io.inferencepam.runner.spi.RequestOutcome) o.next();
            assertThat(outcome.kind()).isEqualTo(io.inferencepam.runner.spi.RequestOutcome.Kind.STOP);
            assertThat(outcome.stop().orElseThrow().status()).isEqualTo(403);
            assertThat(outcome.haltedBy()).contains("p1");
            assertThat(outcome.received().path()).isEqualTo("/v1/chat");
            assertThat(o.threads.poll()).isNotEqualTo(Thread.currentThread().getName()).startsWith("pool-");
        }
        assertThat(first.ranOnRequest).hasSize(1);
        assertThat(afterTheStop.ranOnRequest).isEmpty();
        assertThat(first.seen).isEmpty(); // exactly once
    }

    @Test
    void observersSeeTheMergedRewriteAndTheForwardedRequest() throws Exception {
        Observer obs = new Observer(null);
        Plugin inject = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return RequestDecision.proceed(RequestRewrite.builder().setHeader("authorization", "Bearer upstream").build());
            }
        };
        reqReply(run(conf(obs, inject), request(Map.of())));
        var outcome = (io.inferencepam.runner.spi.RequestOutcome) obs.next();
        assertThat(outcome.kind()).isEqualTo(io.inferencepam.runner.spi.RequestOutcome.Kind.REWRITE);
        assertThat(outcome.received().headers().first("authorization")).contains("Bearer secret");
        assertThat(outcome.forwarded().headers().first("authorization")).contains("Bearer upstream");
        assertThat(outcome.rewrite().headers()).containsEntry("authorization", "Bearer upstream");
        assertThat(outcome.stopped()).isFalse();
    }

    @Test
    void aThrowingObserverChangesNothingAndLaterObserversStillRun() throws Exception {
        Observer boom = new Observer(new IllegalStateException("Bearer secret"));
        Observer later = new Observer(null);
        var reply = reqReply(run(conf(boom, later), request(Map.of())));
        assertThat(reply.actionType()).isEqualTo(Action.NONE);
        boom.next();
        var outcome = (io.inferencepam.runner.spi.RequestOutcome) later.next();
        assertThat(outcome.kind()).isEqualTo(io.inferencepam.runner.spi.RequestOutcome.Kind.PASS);
    }

    @Test
    void aMissedDeadlineIsObservedAsDeadlineWithTheGeneric503() throws Exception {
        Observer obs = new Observer(null);
        CompletableFuture<RequestDecision> never = new CompletableFuture<>();
        Plugin slow = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return never;
            }
        };
        CompletableFuture<OutboundFrame> answer = dispatcher.request(conf(obs, slow), request(Map.of()), time.getAsLong());
        time.advance(Duration.ofMillis(300));
        answer.get(5, TimeUnit.SECONDS);
        var outcome = (io.inferencepam.runner.spi.RequestOutcome) obs.next();
        assertThat(outcome.kind()).isEqualTo(io.inferencepam.runner.spi.RequestOutcome.Kind.DEADLINE);
        assertThat(outcome.stop().orElseThrow().status()).isEqualTo(503);
        never.complete(RequestDecision.PROCEED);
        assertThat(obs.seen.poll(300, TimeUnit.MILLISECONDS)).isNull(); // the late decision is not observed
    }

    @Test
    void aResponseFailureIsObservedAsTheSafeErrorNotTheUpstreamBody() throws Exception {
        Observer obs = new Observer(null);
        Plugin boom = new Plugin() {
            @Override
            public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                throw new IllegalStateException();
            }
        };
        HttpResponse upstream = new HttpResponse(3, 200, Headers.of("Content-Type", "application/json"), Vars.empty(),
                Optional.of(Body.utf8("{\"email\":\"alice@example.com\"}")));
        var r = respReply(dispatcher.response(conf(boom, obs), upstream, time.getAsLong()).get(5, TimeUnit.SECONDS));
        assertThat(r.status()).isEqualTo(503);
        var outcome = (io.inferencepam.runner.spi.ResponseOutcome) obs.next();
        assertThat(outcome.kind()).isEqualTo(io.inferencepam.runner.spi.ResponseOutcome.Kind.ERROR);
        assertThat(outcome.delivered().status()).isEqualTo(503);
        assertThat(outcome.delivered().body().orElseThrow().utf8()).doesNotContain("alice").isEqualTo(body(r));
        assertThat(outcome.received().body().orElseThrow().utf8()).contains("alice");
    }

    @Test
    void confsWithoutObserversSkipTheStep() {
        assertThat(conf(new Plugin() { }).observesOutcomes()).isFalse();
    }

    @Test
    void aSlowObserverDoesNotDelayTheNextCallOfTheSameBatch() throws Exception {
        // As in production: the event loop hands the calls of one pass over as one batch
        // (LoopHandOff), and the other plugin thread is busy with other work.
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch busy = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch auditDone = new java.util.concurrent.CountDownLatch(1);
        pool.execute(() -> {
            busy.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(busy.await(5, TimeUnit.SECONDS)).isTrue();
        io.netty.channel.embedded.EmbeddedChannel ch = new io.netty.channel.embedded.EmbeddedChannel();
        try {
            LoopHandOff handOff = new LoopHandOff(ch.eventLoop(), pool);
            java.util.concurrent.atomic.AtomicBoolean first = new java.util.concurrent.atomic.AtomicBoolean(true);
            Plugin slowObserver = new Plugin() {
                @Override
                public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                    return RequestDecision.proceed();
                }

                @Override
                public void onRequestOutcome(io.inferencepam.runner.spi.RequestOutcome outcome, CallContext context) {
                    if (first.getAndSet(false)) {
                        try {
                            // audit work after the first reply (e.g. a record built by the caller, an fsync),
                            // lasting until the test has seen the second reply
                            auditDone.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }
            };
            PreparedConf c = conf(slowObserver);
            List<CompletableFuture<OutboundFrame>> handed = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                CompletableFuture<OutboundFrame> sent = new CompletableFuture<>();
                dispatcher.request(c, request(Map.of()), time.getAsLong(), handOff, io.inferencepam.runner.spi.ExtraInfo.NONE).thenAccept(a -> {
                    sent.complete(a.frame()); // what RpcSession does: the frame to the loop, then the observers
                    a.afterReply().run();
                });
                handed.add(sent);
            }
            ch.runPendingTasks(); // the pass ends: one batch of two calls
            // had the first call's observers run before it on the batch's thread, the second reply would
            // wait for auditDone, which is counted down only below: this get would time out
            OutboundFrame second = handed.get(1).get(5, TimeUnit.SECONDS);
            assertThat(reqReply(second).actionType()).isEqualTo(Action.NONE);
        } finally {
            auditDone.countDown();
            release.countDown();
            ch.finishAndReleaseAll();
        }
    }

    /** What a holding plugin asked at (the wall clock just before its holdUntil) and the deadline it was granted. */
    private record Held(java.time.Instant askedAt, java.time.Instant granted) {
    }

    /** A plugin that holds its call until {@code release} completes, asking for {@code hold} more time. */
    private static Plugin holder(CompletableFuture<RequestDecision> release, Duration hold, CompletableFuture<Held> held) {
        return new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                java.time.Instant now = java.time.Instant.now();
                held.complete(new Held(now, context.holdUntil(now.plus(hold))));
                return release;
            }
        };
    }

    private static int stopStatus(OutboundFrame f) {
        var reply = reqReply(f);
        return reply.actionType() == Action.Stop
                ? ((io.github.api7.A6.HTTPReqCall.Stop) reply.action(new io.github.api7.A6.HTTPReqCall.Stop())).status() : 0;
    }

    @Test
    void aHeldCallOutlivesTheDeadlineAndTheLaterPluginsStillRun() throws Exception {
        CallDispatcher holding = dispatcher(exchanges, Duration.ofMillis(300), Duration.ofSeconds(3));
        CompletableFuture<RequestDecision> release = new CompletableFuture<>();
        CompletableFuture<Held> held = new CompletableFuture<>();
        java.util.concurrent.atomic.AtomicBoolean secondRan = new java.util.concurrent.atomic.AtomicBoolean();
        Plugin second = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                secondRan.set(true);
                return RequestDecision.proceed(RequestRewrite.builder().setHeader("x-after-hold", "1").build());
            }
        };
        CompletableFuture<OutboundFrame> reply = holding.request(conf(holder(release, Duration.ofSeconds(2), held), second),
                request(Map.of()), time.getAsLong());
        Held h = held.get(5, TimeUnit.SECONDS);
        // granted = asked + the wall clock's own progress inside holdUntil (not negative but for a clock step)
        assertThat(Duration.between(h.askedAt(), h.granted())).isGreaterThan(Duration.ofMillis(1900));
        time.advance(Duration.ofMillis(900)); // three times the ordinary deadline
        assertThat(reply).as("held, not cut at 300 ms").isNotDone();
        release.complete(RequestDecision.PROCEED);
        OutboundFrame f = reply.get(5, TimeUnit.SECONDS);
        assertThat(reqReply(f).actionType()).isEqualTo(Action.Rewrite);
        assertThat(secondRan).isTrue();
    }

    @Test
    void aHoldIsCappedByTheRuntimesMaximumThen503() throws Exception {
        CallDispatcher holding = dispatcher(exchanges, Duration.ofMillis(200), Duration.ofMillis(700));
        CompletableFuture<Held> held = new CompletableFuture<>();
        CompletableFuture<OutboundFrame> reply = holding.request(conf(holder(new CompletableFuture<>(), Duration.ofSeconds(30), held)),
                request(Map.of()), time.getAsLong());
        Held h = held.get(5, TimeUnit.SECONDS);
        assertThat(Duration.between(h.askedAt(), h.granted())).as("the cap, not the 30 s asked")
                .isGreaterThanOrEqualTo(Duration.ofMillis(600)).isLessThan(Duration.ofSeconds(10));
        time.advance(Duration.ofMillis(650));
        assertThat(reply).as("held past the 200 ms deadline").isNotDone();
        time.advance(Duration.ofMillis(50));
        assertThat(stopStatus(reply.get(5, TimeUnit.SECONDS))).as("cut at the 700 ms cap").isEqualTo(503);
    }

    @Test
    void callsThatDoNotHoldKeepTheOrdinaryDeadline() throws Exception {
        CallDispatcher holding = dispatcher(exchanges, Duration.ofMillis(200), Duration.ofSeconds(10));
        Plugin slow = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return new CompletableFuture<>();
            }
        };
        CompletableFuture<OutboundFrame> reply = holding.request(conf(slow), request(Map.of()), time.getAsLong());
        time.advance(Duration.ofMillis(199));
        assertThat(reply).isNotDone();
        time.advance(Duration.ofMillis(1));
        assertThat(stopStatus(reply.get(5, TimeUnit.SECONDS))).isEqualTo(503);
    }

    @Test
    void theResponsePhaseCannotBeHeld() throws Exception {
        CallDispatcher holding = dispatcher(exchanges, Duration.ofMillis(200), Duration.ofSeconds(10));
        CompletableFuture<java.time.Instant> granted = new CompletableFuture<>();
        Plugin tries = new Plugin() {
            @Override
            public CompletionStage<ResponseChange> onResponse(HttpResponse response, CallContext context) {
                granted.complete(context.holdUntil(java.time.Instant.now().plusSeconds(5)));
                return new CompletableFuture<>();
            }
        };
        CompletableFuture<OutboundFrame> reply = holding.response(conf(tries), new HttpResponse(12, 200, Headers.empty(),
                Vars.empty(), Optional.of(Body.utf8("secret"))), time.getAsLong());
        java.time.Instant got = granted.get(5, TimeUnit.SECONDS);
        assertThat(Duration.between(java.time.Instant.now(), got)).as("not extended").isLessThanOrEqualTo(Duration.ofMillis(200));
        time.advance(Duration.ofMillis(199));
        assertThat(reply).isNotDone();
        time.advance(Duration.ofMillis(1));
        assertThat(respReply(reply.get(5, TimeUnit.SECONDS)).status()).isEqualTo(503);
    }

    @Test
    void shutdownAnswersAHeldCallAtOnce() throws Exception {
        CallDispatcher holding = dispatcher(exchanges, Duration.ofMillis(200), Duration.ofSeconds(10));
        CompletableFuture<Held> held = new CompletableFuture<>();
        CompletableFuture<OutboundFrame> reply = holding.request(conf(holder(new CompletableFuture<>(), Duration.ofSeconds(5), held)),
                request(Map.of()), time.getAsLong());
        held.get(5, TimeUnit.SECONDS);
        time.advance(Duration.ofMillis(400));
        assertThat(reply).isNotDone();
        holding.cutShort();
        assertThat(stopStatus(reply.get(1, TimeUnit.SECONDS))).isEqualTo(503);
    }
}

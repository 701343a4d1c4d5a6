package io.inferencepam.runner.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.api7.A6.HTTPReqCall.Action;
import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.control.PrometheusMetrics;
import io.inferencepam.runner.protocol.OutboundFrame;
import io.inferencepam.runner.spi.CallContext;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.ExtraInfo;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.RequestDecision;
import io.inferencepam.runner.spi.Vars;
import io.netty.channel.DefaultEventLoop;
import io.netty.util.HashedWheelTimer;
import io.netty.util.Timeout;
import io.netty.util.Timer;
import io.netty.util.TimerTask;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A call answered before its deadline could be armed (a phase run inline on the event loop)
 * arms no deadline timer and registers nothing for shutdown (issue 15: per-call timer churn); a
 * call that waits keeps its deadline and is cut at it.
 */
class DeadlineFastPathTest {
    /** Counts the timeouts armed through it. */
    private static final class CountingTimer implements Timer {
        final HashedWheelTimer wheel = new HashedWheelTimer(10, TimeUnit.MILLISECONDS);
        final AtomicInteger armed = new AtomicInteger();

        @Override
        public Timeout newTimeout(TimerTask task, long delay, TimeUnit unit) {
            armed.incrementAndGet();
            return wheel.newTimeout(task, delay, unit);
        }

        @Override
        public Set<Timeout> stop() {
            return wheel.stop();
        }
    }

    private final CountingTimer timer = new CountingTimer();
    private final PluginPool pool = new PluginPool("plugin", 2, 1000, timer.wheel);
    private final DefaultEventLoop loop = new DefaultEventLoop(new DefaultThreadFactory("test-io", true));
    private final LoopHandOff handOff = new LoopHandOff(loop, pool);
    private final CallDispatcher dispatcher = new CallDispatcher(pool, new LargeBodyLane(pool, 64 * 1024), pool, timer,
            new ExchangeStore(Duration.ofMinutes(1), 100), Duration.ofMillis(300), new RunnerMetrics(new PrometheusMetrics()));

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
        pool.shutdownNow();
        timer.stop();
    }

    private static final class Cheap implements Plugin {
        @Override
        public boolean inlineSafe(Phase phase) {
            return true;
        }

        @Override
        public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
            return RequestDecision.proceed();
        }
    }

    private static PreparedConf conf(Plugin plugin) {
        return PreparedConf.of(new ConfIdentity("route#r#ext-plugin-pre-req#1", "r", "ext-plugin-pre-req", "h", 1),
                List.of("p0"), List.of(plugin));
    }

    private OutboundFrame onLoop(PreparedConf conf) throws Exception {
        HttpRequest request = new HttpRequest(7, "POST", "/v1/chat", Headers.empty(), Headers.empty(), "127.0.0.1",
                Vars.of(Map.of()), Optional.empty());
        CompletableFuture<CompletableFuture<CallDispatcher.Answer>> started = new CompletableFuture<>();
        loop.execute(() -> started.complete(dispatcher.request(conf, request, System.nanoTime(), handOff, ExtraInfo.NONE)));
        return started.get(5, TimeUnit.SECONDS).get(5, TimeUnit.SECONDS).observed();
    }

    private static int stopStatus(OutboundFrame f) {
        var resp = io.github.api7.A6.HTTPReqCall.Resp.getRootAsResp(f.payload().duplicate().order(ByteOrder.LITTLE_ENDIAN));
        return resp.actionType() != Action.Stop ? -1
                : ((io.github.api7.A6.HTTPReqCall.Stop) resp.action(new io.github.api7.A6.HTTPReqCall.Stop())).status();
    }

    @Test
    void aCallAnsweredOnTheEventLoopArmsNoDeadline() throws Exception {
        for (int i = 0; i < 5; i++) {
            assertThat(stopStatus(onLoop(conf(new Cheap())))).isEqualTo(-1);
        }
        assertThat(timer.armed).as("no deadline timer for calls answered at once").hasValue(0);
        assertThat(dispatcher.inFlight()).isZero();
    }

    @Test
    void aCallThatWaitsKeepsItsDeadlineAndIsCutAtIt() throws Exception {
        Plugin never = new Plugin() {
            @Override
            public CompletionStage<RequestDecision> onRequest(HttpRequest request, CallContext context) {
                return new CompletableFuture<>();
            }
        };
        assertThat(stopStatus(onLoop(conf(never)))).isEqualTo(503);
        assertThat(timer.armed.get()).isGreaterThanOrEqualTo(1);
    }
}

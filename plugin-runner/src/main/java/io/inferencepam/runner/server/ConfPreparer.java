package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.ConfCompiler;
import io.inferencepam.runner.conf.ConfProblem;
import io.inferencepam.runner.conf.InvalidConfsException;
import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.protocol.A6Encoder;
import io.inferencepam.runner.protocol.ErrorCode;
import io.inferencepam.runner.protocol.Inbound;
import io.inferencepam.runner.protocol.OutboundFrame;
import io.inferencepam.runner.spi.Phase;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers PrepareConf: compiles the conf off the event loop, binds a new token to it and to the
 * phase its key names, and decides what a refusal answers.
 *
 * <p>A refused request-phase conf gets RPC_ERROR: APISIX answers 503 before the upstream is
 * called. A refused response-phase conf gets a token all the same, bound to a fail-closed conf:
 * APISIX asks for it only after it has called the upstream, and on any RPC failure it would send
 * the original, unmasked body with status 503 (conformance P11). APISIX caches that token like any
 * other, so the route answers the safe 503 until its conf changes (a new conf version is a new
 * key, prepared again); a token refused for a passing reason (deadline, full executor) lives only
 * {@link ConfStore#PASSING_REFUSAL_LIFETIME}, after which APISIX is told CONF_TOKEN_NOT_FOUND and
 * prepares again. A key that names no phase (not one APISIX 3.18 sends) gets a fail-closed token
 * serving either phase: RPC_ERROR would release the upstream body if it were a post-resp key.
 *
 * <p>Once compiled, the answer waits (holding no thread) for the plugins' warm-up
 * ({@link io.inferencepam.runner.spi.Plugin#warmUp}: an issuer's keys), within what is left of the
 * PrepareConf deadline ({@code PAM_PREPARE_DEADLINE_MS}, its own, not the call's): a route's first
 * call then finds them ready. A failed or unfinished warm-up never refuses the conf; only a conf
 * not compiled by the deadline is refused.
 *
 * <p>Exactly one outcome is stored and answered: the compiled conf is bound in the final stage,
 * after the deadline, never by the compiling thread, so a conf compiled too late is dropped.
 */
final class ConfPreparer {
    private static final Logger LOG = LoggerFactory.getLogger(ConfPreparer.class);

    private final CompletableFuture<ConfCompiler> compiler;
    private final ConfStore confs;
    private final Executor executor;
    private final Duration deadline;
    private final RunnerMetrics metrics;
    /** Shutdown: a PrepareConf still being prepared is refused at once, like a call cut short. */
    private final CallDispatcher shutdown;

    ConfPreparer(CompletableFuture<ConfCompiler> compiler, ConfStore confs, Executor executor, Duration deadline,
                 RunnerMetrics metrics, CallDispatcher shutdown) {
        this.shutdown = shutdown;
        this.compiler = compiler;
        this.confs = confs;
        this.executor = executor;
        this.deadline = deadline;
        this.metrics = metrics;
    }

    /** The reply frame; completes on whichever thread finished the work (never waits on the caller). */
    CompletableFuture<OutboundFrame> prepare(Inbound.PrepareConf prepare) {
        String key = prepare.key();
        Optional<Phase> phase = ConfCompiler.phaseOf(key);
        long token = confs.newToken();
        if (phase.isEmpty()) {
            // APISIX 3.18 always names its phase plugin in the key. A key that does not might be a
            // post-resp one, where RPC_ERROR would release the upstream body: fail closed in both phases.
            return CompletableFuture.completedFuture(refuse(key, phase, token, ConfBinding.Refusal.UNBOUND_KEY, List.of()));
        }
        // Compilation builds plugins (may touch schemas, regexes, key material): off the event loop.
        CompletableFuture<PreparedConf> compiled = compiler.thenApplyAsync(c -> {
            try {
                return c.compile(key, prepare.conf(), token);
            } catch (InvalidConfsException e) {
                throw new CompletionException(e);
            }
        }, executor).orTimeout(deadline.toMillis(), TimeUnit.MILLISECONDS);
        long deadlineAt = System.nanoTime() + deadline.toNanos();
        CompletableFuture<PreparedConf> outcome = new CompletableFuture<>();
        compiled.whenComplete((conf, err) -> {
            if (err != null) {
                outcome.completeExceptionally(err);
                return;
            }
            // Warm-up waits without a thread, for what is left of the deadline; its outcome never refuses the conf.
            warmUp(conf, phase.get(), key).completeOnTimeout(Boolean.FALSE, Math.max(0, deadlineAt - System.nanoTime()),
                    TimeUnit.NANOSECONDS).whenComplete((done, e) -> {
                        if (!Boolean.TRUE.equals(done)) {
                            LOG.info("PrepareConf {}: warm-up unfinished at the deadline; the first calls wait for it", key);
                        }
                        outcome.complete(conf);
                    });
        });
        if (shutdown != null) {
            shutdown.onCutShort(outcome, () -> outcome.completeExceptionally(new RejectedExecutionException("runner shutting down")));
        }
        return outcome.handle((conf, err) -> err == null ? bind(conf, key, phase) : refuse(key, phase, token, cause(err)));
    }

    /**
     * Completes with true once every plugin's {@link io.inferencepam.runner.spi.Plugin#warmUp} has
     * completed or failed (a failure is the plugin's to log: the call will meet it again).
     */
    private static CompletableFuture<Boolean> warmUp(PreparedConf conf, Phase phase, String key) {
        List<CompletableFuture<?>> each = new java.util.ArrayList<>(conf.plugins().size());
        for (int i = 0; i < conf.plugins().size(); i++) {
            try {
                // handle(): a new stage, so completing it on timeout never completes the plugin's own future
                each.add(conf.plugins().get(i).warmUp(phase).toCompletableFuture().handle((v, e) -> null));
            } catch (RuntimeException e) {
                LOG.warn("PrepareConf {}: warm-up of {} failed to start: {}", key, conf.names().get(i), e.getClass().getSimpleName());
            }
        }
        return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new)).thenApply(v -> Boolean.TRUE);
    }

    private OutboundFrame bind(PreparedConf conf, String key, Optional<Phase> phase) {
        if (!confs.put(conf)) { // only if 2^32 tokens were issued meanwhile: never answer a token bound to something else
            return refuse(key, phase, conf.identity().token(), ConfBinding.Refusal.UNAVAILABLE, List.of());
        }
        metrics.rpc("prepare_conf", "ok");
        return A6Encoder.prepareConf(conf.identity().token());
    }

    private OutboundFrame refuse(String key, Optional<Phase> phase, long token, Throwable cause) {
        ConfBinding.Refusal reason = cause instanceof InvalidConfsException ? ConfBinding.Refusal.INVALID
                : cause instanceof TimeoutException ? ConfBinding.Refusal.DEADLINE
                : cause instanceof RejectedExecutionException ? ConfBinding.Refusal.OVERLOADED
                : ConfBinding.Refusal.UNAVAILABLE;
        if (reason == ConfBinding.Refusal.UNAVAILABLE) {
            // Class only: a plugin's exception message may quote its conf.
            LOG.error("PrepareConf {} failed: {}", key, cause.getClass().getSimpleName());
        }
        return refuse(key, phase, token, reason, cause instanceof InvalidConfsException e ? e.problems() : List.of());
    }

    /**
     * A request-phase key gets RPC_ERROR: APISIX answers 503 before the upstream is called. Any
     * other gets {@code token}, bound to a fail-closed conf.
     */
    private OutboundFrame refuse(String key, Optional<Phase> phase, long token, ConfBinding.Refusal reason,
                                 List<ConfProblem> problems) {
        metrics.rpc("prepare_conf", reason == ConfBinding.Refusal.INVALID ? "invalid" : "error");
        metrics.confRefused(phase.map(p -> p == Phase.REQUEST ? "request" : "response").orElse("unknown"), reason.label);
        String outcome = phase.equals(Optional.of(Phase.REQUEST)) ? "the route answers 503"
                : "its calls answer the safe 503 (never the upstream body)"
                + (reason.passing ? " for " + ConfStore.PASSING_REFUSAL_LIFETIME.toSeconds() + " s, then it is prepared again" : "");
        if (problems.isEmpty()) {
            LOG.error("PrepareConf {} refused ({}): {}", key, reason.label, outcome);
        }
        for (ConfProblem p : problems) {
            LOG.error("PrepareConf {} refused, {} until fixed: {}", key, outcome, p);
        }
        if (phase.equals(Optional.of(Phase.REQUEST))) {
            return A6Encoder.error(reason == ConfBinding.Refusal.INVALID ? ErrorCode.BAD_REQUEST : ErrorCode.SERVICE_UNAVAILABLE);
        }
        ConfBinding.FailClosed failClosed = new ConfBinding.FailClosed(phase, reason);
        while (!confs.putFailClosed(token, failClosed)) {
            token = confs.newToken(); // held after a wrap-around of 2^32 tokens: never answer a token bound to something else
        }
        return A6Encoder.prepareConf(token);
    }

    private static Throwable cause(Throwable err) {
        Throwable c = err;
        while (c instanceof CompletionException && c.getCause() != null) {
            c = c.getCause();
        }
        return c;
    }
}

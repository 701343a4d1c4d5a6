package io.inferencepam.runner.server;

import io.inferencepam.runner.conf.ConfCompiler;
import io.inferencepam.runner.conf.PreparedConf;
import io.inferencepam.runner.protocol.A6Decoder;
import io.inferencepam.runner.protocol.A6Encoder;
import io.inferencepam.runner.protocol.ErrorCode;
import io.inferencepam.runner.protocol.Frame;
import io.inferencepam.runner.protocol.FrameDecoder;
import io.inferencepam.runner.protocol.Inbound;
import io.inferencepam.runner.protocol.MalformedFrameException;
import io.inferencepam.runner.protocol.OutboundFrame;
import io.inferencepam.runner.protocol.RpcType;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.HttpResponse;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Vars;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One APISIX connection. APISIX runs one RPC at a time per connection (it may open a second
 * connection for PrepareConf while the first waits), so the session is a small state machine
 * confined to the channel's event loop: IDLE → (ExtraInfo questions → answers) → RUNNING → reply
 * → IDLE. Plugin work runs elsewhere; the reply comes back to the event loop to be written.
 *
 * <p>Buffer ownership: every inbound {@link Frame} is released here, right after decoding into
 * plain values.
 */
final class RpcSession extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(RpcSession.class);

    private enum State { IDLE, AWAITING_INFO, BUSY, CLOSED }

    private final ConfPreparer preparer;
    private final ConfStore confs;
    private final CallDispatcher dispatcher;
    private final PluginEntry handOff;
    private final RunnerMetrics metrics;
    private final FrameVars frameVars;
    private State state = State.IDLE;
    private PendingCall pending;
    /** The call whose plugins run now (until its reply): the only one that may still ask APISIX. */
    private CallExtraInfo active;
    private Phase activePhase;
    /** The running call's id when it is a response call, else -1. */
    private long activeResponseId = -1;
    /** Questions a running call sent after the first batch, answers still due, in order. */
    private final java.util.ArrayDeque<Owed> owed = new java.util.ArrayDeque<>();

    /** One later batch of questions: its answers, as they arrive. */
    private static final class Owed {
        final int expected;
        final java.util.List<java.util.Optional<byte[]>> received;
        final CompletableFuture<java.util.List<java.util.Optional<byte[]>>> answers;

        Owed(int expected, CompletableFuture<java.util.List<java.util.Optional<byte[]>>> answers) {
            this.expected = expected;
            this.received = new java.util.ArrayList<>(expected);
            this.answers = answers;
        }
    }

    /** Why a later question was not sent. Stackless: a normal end of a call cut short. */
    private static final class CallAnswered extends IllegalStateException {
        CallAnswered(String why) {
            super(why, null);
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    RpcSession(CompletableFuture<ConfCompiler> compiler, ConfStore confs, CallDispatcher dispatcher,
               PluginEntry handOff, Executor prepareExecutor, RunnerMetrics metrics, java.time.Duration prepareDeadline) {
        this(compiler, confs, dispatcher, handOff, prepareExecutor, metrics, prepareDeadline, FrameVars.ASK_ABSENT);
    }

    /** @param frameVars what a pre-req call frame may answer without a question ({@link RunnerConfig#noHeaderRemovalBeforePreReq}) */
    RpcSession(CompletableFuture<ConfCompiler> compiler, ConfStore confs, CallDispatcher dispatcher,
               PluginEntry handOff, Executor prepareExecutor, RunnerMetrics metrics, java.time.Duration prepareDeadline,
               FrameVars frameVars) {
        this.frameVars = frameVars;
        this.preparer = new ConfPreparer(compiler, confs, prepareExecutor, prepareDeadline, metrics, dispatcher);
        this.confs = confs;
        this.dispatcher = dispatcher;
        this.handOff = handOff;
        this.metrics = metrics;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Frame frame)) {
            io.netty.util.ReferenceCountUtil.release(msg);
            return;
        }
        Inbound in;
        byte type = frame.type();
        try {
            if (state == State.CLOSED) {
                return;
            }
            if (type != RpcType.PREPARE_CONF && type != RpcType.HTTP_REQ_CALL
                    && type != RpcType.HTTP_RESP_CALL && type != RpcType.EXTRA_INFO) {
                protocolError(ctx, "unknown_type", "unknown frame type " + type);
                return;
            }
            in = A6Decoder.decode(type, frame.payload());
        } catch (MalformedFrameException e) {
            java.util.OptionalLong responseId = type == RpcType.HTTP_RESP_CALL && state == State.IDLE
                    ? A6Decoder.responseCallId(frame.payload()) : java.util.OptionalLong.empty();
            if (responseId.isPresent()) {
                failResponse(ctx, responseId.getAsLong(), "malformed", e.getMessage());
            } else {
                protocolError(ctx, "malformed", e.getMessage());
            }
            return;
        } finally {
            frame.release();
        }
        handle(ctx, in);
    }

    private void handle(ChannelHandlerContext ctx, Inbound in) {
        if (in instanceof Inbound.ExtraInfoAnswer answer) {
            Owed due = owed.peek();
            if (due != null) { // a later batch; its call may have been answered already (deadline)
                due.received.add(answer.result());
                if (due.received.size() == due.expected) {
                    owed.poll();
                    due.answers.complete(due.received);
                }
                return;
            }
            if (state != State.AWAITING_INFO) {
                protocolError(ctx, "out_of_order", "ExtraInfo answer without a question");
                return;
            }
            if (pending.answer(answer.result())) {
                run(ctx, pending);
            }
            return;
        }
        if (state != State.IDLE || !owed.isEmpty()) {
            protocolError(ctx, "out_of_order", "new RPC while the previous one is unanswered");
            return;
        }
        if (in instanceof Inbound.PrepareConf prepare) {
            prepare(ctx, prepare);
        } else if (in instanceof Inbound.RequestCall call) {
            start(ctx, Phase.REQUEST, call, call.confToken());
        } else if (in instanceof Inbound.ResponseCall call) {
            start(ctx, Phase.RESPONSE, call, call.confToken());
        }
    }

    private void prepare(ChannelHandlerContext ctx, Inbound.PrepareConf prepare) {
        state = State.BUSY;
        long start = System.nanoTime();
        preparer.prepare(prepare).thenAccept(reply -> ctx.executor().execute(() -> reply(ctx, reply, "prepare_conf", start)));
    }

    private void start(ChannelHandlerContext ctx, Phase phase, Inbound call, long token) {
        long start = System.nanoTime();
        String type = phase == Phase.REQUEST ? "http_req_call" : "http_resp_call";
        ConfBinding binding = confs.get(token);
        if (binding == null || !binding.serves(phase)) {
            // A token of the other phase is as unknown as a stale one: APISIX flushes its token
            // caches, re-prepares and retries (up to 3 times).
            metrics.rpc(type, binding == null ? "conf_token_not_found" : "conf_token_wrong_phase");
            ctx.writeAndFlush(A6Encoder.error(ErrorCode.CONF_TOKEN_NOT_FOUND));
            return;
        }
        PendingCall p = new PendingCall(phase, call, binding, start, frameVars);
        if (p.questionCount() == 0) {
            run(ctx, p);
            return;
        }
        state = State.AWAITING_INFO;
        pending = p;
        // All questions at once: APISIX answers them in order (conformance R2b).
        writeQuestions(ctx, phase, p.vars(), p.wantsBody());
    }

    private void writeQuestions(ChannelHandlerContext ctx, Phase phase, java.util.List<String> vars, boolean body) {
        for (String var : vars) {
            ctx.write(A6Encoder.varQuestion(var));
        }
        if (body) {
            ctx.write(phase == Phase.REQUEST ? A6Encoder.requestBodyQuestion() : A6Encoder.responseBodyQuestion());
        }
        ctx.flush();
        metrics.questions(phase == Phase.REQUEST ? "request" : "response", vars.size() + (body ? 1 : 0));
    }

    /**
     * A running call's later questions ({@link CallExtraInfo}), on the event loop. Only while that
     * call is unanswered: a question written after its reply would be read by APISIX as the reply
     * to whatever it sends next on this connection.
     */
    private void askLater(ChannelHandlerContext ctx, CallExtraInfo who, java.util.List<String> vars, boolean body,
                          CompletableFuture<java.util.List<java.util.Optional<byte[]>>> answers) {
        if (state != State.BUSY || who != active) {
            answers.completeExceptionally(new CallAnswered("call already answered or connection closed"));
            return;
        }
        owed.add(new Owed(vars.size() + (body ? 1 : 0), answers));
        writeQuestions(ctx, activePhase, vars, body);
    }

    private void run(ChannelHandlerContext ctx, PendingCall p) {
        state = State.BUSY;
        pending = null;
        Vars vars = Vars.of(p.varValues());
        String type = p.phase == Phase.REQUEST ? "http_req_call" : "http_resp_call";
        if (!(p.binding instanceof ConfBinding.Compiled compiled)) {
            // Refused at PrepareConf: no plugin to run.
            reply(ctx, dispatcher.refused(p.phase, p.id(), vars.get(PreparedConf.REQUEST_ID_VAR)), type, p.startNanos);
            return;
        }
        PreparedConf conf = compiled.conf();
        CallExtraInfo extra = new CallExtraInfo(p.answeringFrame, p.frameVars, p.neededVars(), vars.asMap(), p.body(), ctx.executor(),
                (who, names, body, answers) -> askLater(ctx, who, names, body, answers), dispatcher::laneFor);
        active = extra;
        activePhase = p.phase;
        activeResponseId = p.phase == Phase.RESPONSE ? p.id() : -1;
        CompletableFuture<CallDispatcher.Answer> reply;
        if (p.call instanceof Inbound.RequestCall c) {
            reply = dispatcher.request(conf, new HttpRequest(c.id(), c.method(), c.path(), c.args(), c.headers(),
                    c.sourceIp(), vars, p.body()), p.startNanos, handOff, extra);
        } else {
            Inbound.ResponseCall c = (Inbound.ResponseCall) p.call;
            reply = dispatcher.response(conf, new HttpResponse(c.id(), c.status(), c.headers(), vars, p.body()),
                    p.startNanos, handOff, extra);
        }
        long responseId = p.phase == Phase.RESPONSE ? p.id() : -1;
        if (reply.isDone() && !reply.isCompletedExceptionally()) {
            // Answered right here on the loop (InlinePhase): written now, not queued behind this task.
            CallDispatcher.Answer a = reply.join();
            reply(ctx, a.frame(), type, p.startNanos, responseId);
            a.afterReply().run(); // observers: queued to the plugin threads, never run on the loop
            return;
        }
        reply.thenAccept(a -> {
            if (ctx.executor().inEventLoop()) {
                // completed on this loop (a fetch answered here continued inline): written now
                reply(ctx, a.frame(), type, p.startNanos, responseId);
            } else {
                ctx.executor().execute(() -> reply(ctx, a.frame(), type, p.startNanos, responseId));
            }
            a.afterReply().run(); // the reply is on its way first: observers never delay it
        });
    }

    private void reply(ChannelHandlerContext ctx, OutboundFrame frame, String type, long startNanos) {
        reply(ctx, frame, type, startNanos, -1);
    }

    /** @param responseId the response call this answers, or -1 */
    private void reply(ChannelHandlerContext ctx, OutboundFrame frame, String type, long startNanos, long responseId) {
        if (state == State.CLOSED) {
            return;
        }
        state = State.IDLE;
        active = null;
        activeResponseId = -1;
        metrics.latency(type, System.nanoTime() - startNanos);
        if (!type.equals("prepare_conf")) {
            metrics.rpc(type, "answered");
        }
        if (responseId < 0) {
            ctx.writeAndFlush(frame).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
            return;
        }
        ctx.writeAndFlush(frame).addListener(done -> {
            if (done.isSuccess()) {
                return;
            }
            if (done.cause() instanceof java.io.IOException || !ctx.channel().isActive()) {
                ctx.fireExceptionCaught(done.cause());
                return;
            }
            // The reply was built but could not be written (e.g. no memory for a large buffer): a bare
            // close would make APISIX send the original, unmasked body. The small safe error instead.
            failResponse(ctx, responseId, "write_failed", "reply not written: " + done.cause().getClass().getSimpleName());
        });
    }

    /**
     * The id of a response call waiting for ExtraInfo answers (its first batch, or questions its
     * plugins asked later), or -1: a broken answer must still get it the safe error response.
     */
    private long responseAwaitingAnswers() {
        if (state == State.AWAITING_INFO && pending != null && pending.phase == Phase.RESPONSE) {
            return pending.id();
        }
        return state == State.BUSY && !owed.isEmpty() ? activeResponseId : -1;
    }

    private void protocolError(ChannelHandlerContext ctx, String kind, String detail) {
        long waiting = responseAwaitingAnswers();
        if (waiting >= 0) {
            failResponse(ctx, waiting, kind, detail);
            return;
        }
        metrics.protocolError(kind);
        LOG.warn("closing APISIX connection after a protocol error: {}", detail);
        state = State.CLOSED;
        ctx.writeAndFlush(A6Encoder.error(ErrorCode.BAD_REQUEST)).addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * A response-phase call that cannot be served is still answered with the safe error response,
     * never RPC_ERROR or a bare close: APISIX would then send the original, unmasked upstream body
     * with status 503 (conformance P6, P10). The connection is closed after the reply, since the
     * stream may hold the rest of a broken frame.
     */
    private void failResponse(ChannelHandlerContext ctx, long id, String kind, String detail) {
        metrics.protocolError(kind);
        metrics.outcome("response", "protocol_error");
        LOG.warn("response call failed closed with a safe 503 after a protocol error: {}", detail);
        state = State.CLOSED;
        pending = null;
        ctx.writeAndFlush(ReplyFrames.safeError(id)).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (c instanceof TooLongFrameException) {
            protocolError(ctx, "oversized", c.getMessage());
        } else if (c instanceof FrameDecoder.TruncatedFrameException) {
            long waiting = responseAwaitingAnswers();
            if (waiting >= 0) {
                failResponse(ctx, waiting, "truncated", c.getMessage());
                return;
            }
            metrics.protocolError("truncated");
            LOG.warn("closing APISIX connection: {}", c.getMessage());
            state = State.CLOSED;
            ctx.close();
        } else if (c instanceof java.io.IOException) {
            state = State.CLOSED;
            ctx.close();
        } else {
            long waiting = responseAwaitingAnswers();
            if (waiting >= 0) {
                failResponse(ctx, waiting, "internal", c.getClass().getName());
                return;
            }
            metrics.protocolError("internal");
            LOG.warn("closing APISIX connection after {}", c.getClass().getName());
            state = State.CLOSED;
            ctx.close();
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = State.CLOSED;
        pending = null;
        active = null;
        for (Owed o; (o = owed.poll()) != null; ) {
            o.answers.completeExceptionally(new CallAnswered("connection closed"));
        }
        ctx.fireChannelInactive();
    }
}

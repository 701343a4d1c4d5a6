package io.inferencepam.runner.server;

import io.inferencepam.runner.protocol.Frame;
import io.inferencepam.runner.protocol.OutboundFrame;
import io.inferencepam.runner.protocol.RpcType;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Knows whether an RPC is open on its connection (a PrepareConf or call received, its reply not
 * yet written), counts the open ones across connections, and on shutdown closes the connection
 * only once its RPC is answered. A connection closed under an open call makes APISIX answer 503,
 * and in the response phase send the original, unmasked upstream body (conformance P6, P10).
 *
 * <p>Reads the frame types only: sits between the frame codec and the session, which it never
 * changes. Confined to the channel's event loop, apart from the shared count.
 */
final class ConnectionDrain extends ChannelDuplexHandler {
    private final AtomicInteger openAcrossConnections;
    private ChannelHandlerContext ctx;
    private boolean open;
    private boolean closeWhenAnswered;

    /** @param openAcrossConnections shared by every connection's drain: RPCs open right now */
    ConnectionDrain(AtomicInteger openAcrossConnections) {
        this.openAcrossConnections = openAcrossConnections;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Frame f && !open && (f.type() == RpcType.PREPARE_CONF || f.type() == RpcType.HTTP_REQ_CALL
                || f.type() == RpcType.HTTP_RESP_CALL)) {
            open = true;
            openAcrossConnections.incrementAndGet();
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof OutboundFrame f && f.type() != RpcType.EXTRA_INFO) { // anything but a question answers the RPC
            ChannelPromise p = promise.unvoid();
            // A reply that failed to be written answers nothing: the session may still write the
            // safe error instead (closing now would make APISIX send the original body); a
            // connection that is gone is counted off by channelInactive.
            p.addListener(done -> {
                if (done.isSuccess()) {
                    answered();
                }
            });
            ctx.write(msg, p);
            return;
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (open) {
            open = false;
            openAcrossConnections.decrementAndGet();
        }
        ctx.fireChannelInactive();
    }

    /**
     * Shutdown: closes the connection now if no RPC is open on it, else right after its reply has
     * been written. Callable from any thread.
     */
    void closeWhenIdle() {
        ctx.executor().execute(() -> {
            if (open) {
                closeWhenAnswered = true;
            } else {
                ctx.close();
            }
        });
    }

    private void answered() {
        if (open) {
            open = false;
            openAcrossConnections.decrementAndGet();
        }
        if (closeWhenAnswered) {
            ctx.close();
        }
    }
}

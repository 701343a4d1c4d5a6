package io.inferencepam.runner.control;

import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.ControlApi;
import io.inferencepam.runner.spi.Header;
import io.inferencepam.runner.spi.Headers;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loopback HTTP server for operators: health, metrics, and whatever features register. Handlers
 * run on {@code handlerExecutor}, never on the event loop. Errors answer a JSON error without
 * internals. Every request passes {@link ControlAccess} first (Host allow list, bearer token,
 * JSON-only writes).
 */
public final class ControlServer implements ControlApi {
    private static final Logger LOG = LoggerFactory.getLogger(ControlServer.class);
    private static final int MAX_BODY = 16 * 1024 * 1024;

    private record Route(String method, String path, boolean prefix, Handler handler) {
        boolean matches(String m, String p) {
            return method.equals(m) && (prefix ? p.startsWith(path) : p.equals(path));
        }
    }

    /** Served without the token: liveness, readiness and metrics carry no secrets. */
    private static final java.util.Set<String> OPEN_PATHS = java.util.Set.of("/healthz", "/readyz", "/metrics");

    private final List<Route> routes = new CopyOnWriteArrayList<>();
    private final Executor handlerExecutor;
    private final ControlAccess access;
    private Channel channel;

    public ControlServer(Executor handlerExecutor, ControlAccess access) {
        this.handlerExecutor = handlerExecutor;
        this.access = access;
    }

    @Override
    public void route(String method, String path, Handler handler) {
        boolean prefix = path.endsWith("/*");
        routes.add(new Route(method, prefix ? path.substring(0, path.length() - 1) : path, prefix, handler));
    }

    public InetSocketAddress start(EventLoopGroup group, String host, int port) throws InterruptedException {
        channel = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_BODY), new Dispatch());
                    }
                })
                .bind(host, port).sync().channel();
        return (InetSocketAddress) channel.localAddress();
    }

    public void stop() {
        if (channel != null) {
            channel.close().syncUninterruptibly();
        }
    }

    private final class Dispatch extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest msg) {
            QueryStringDecoder qs = new QueryStringDecoder(msg.uri());
            String method = msg.method().name();
            String path = qs.path();
            Map<String, String> query = new LinkedHashMap<>();
            qs.parameters().forEach((k, v) -> query.put(k, v.isEmpty() ? "" : v.get(0)));
            List<Header> headers = new ArrayList<>();
            msg.headers().forEach(e -> headers.add(new Header(e.getKey().toLowerCase(java.util.Locale.ROOT), e.getValue())));
            Request request = new Request(method, path, query, Headers.of(headers),
                    Body.wrap(ByteBufUtil.getBytes(msg.content())));
            boolean keepAlive = HttpUtil.isKeepAlive(msg);
            Route route = routes.stream().filter(r -> r.matches(method, path)).findFirst().orElse(null);
            CompletionStage<Response> result;
            Optional<Response> refused = access.check(request, OPEN_PATHS.contains(path));
            if (refused.isPresent()) {
                result = CompletableFuture.completedFuture(refused.get());
            } else if (route == null) {
                boolean pathKnown = routes.stream().anyMatch(r -> r.matches(r.method(), path));
                result = CompletableFuture.completedFuture(pathKnown
                        ? Response.error(405, "method_not_allowed", "method not allowed")
                        : Response.error(404, "not_found", "not found"));
            } else {
                result = CompletableFuture.supplyAsync(() -> {
                    try {
                        return route.handler().handle(request);
                    } catch (Exception e) {
                        return CompletableFuture.<Response>failedFuture(e);
                    }
                }, handlerExecutor).thenCompose(s -> s);
            }
            result.whenComplete((resp, err) -> {
                Response r = resp;
                if (err != null) {
                    LOG.warn("control API {} {} failed: {}", method, path, err.getClass().getSimpleName());
                    r = Response.error(500, "internal_error", "internal error");
                }
                write(ctx, r, keepAlive);
            });
        }

        private void write(ChannelHandlerContext ctx, Response r, boolean keepAlive) {
            FullHttpResponse out = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.valueOf(r.status()), Unpooled.wrappedBuffer(r.body().toByteArray()));
            out.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
            out.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.body().length());
            out.headers().set("cache-control", "no-store");
            if (keepAlive) {
                ctx.writeAndFlush(out);
            } else {
                ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}

package io.inferencepam.runner.server;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.kqueue.KQueue;
import io.netty.channel.kqueue.KQueueEventLoopGroup;
import io.netty.channel.kqueue.KQueueServerDomainSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/** Native Unix-domain-socket transport: epoll on Linux, kqueue on macOS (local development). */
record Transport(String name, EventLoopGroup group, Class<? extends ServerChannel> serverChannel) {

    static Transport create(int threads) {
        DefaultThreadFactory tf = new DefaultThreadFactory("pam-io", true);
        if (Epoll.isAvailable()) {
            return new Transport("epoll", new EpollEventLoopGroup(threads, tf), EpollServerDomainSocketChannel.class);
        }
        if (KQueue.isAvailable()) {
            return new Transport("kqueue", new KQueueEventLoopGroup(threads, tf), KQueueServerDomainSocketChannel.class);
        }
        throw new IllegalStateException("no native Unix socket transport: epoll unavailable ("
                + Epoll.unavailabilityCause() + "), kqueue unavailable");
    }
}

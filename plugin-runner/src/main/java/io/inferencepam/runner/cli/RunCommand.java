package io.inferencepam.runner.cli;

import io.inferencepam.runner.server.Runner;
import io.inferencepam.runner.server.RunnerConfig;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;

/** Runs the runtime until SIGTERM/SIGINT. */
@Command(name = "run", description = "Serve APISIX on the Unix socket named by APISIX_LISTEN_ADDRESS.")
public final class RunCommand implements java.util.concurrent.Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

    @Override
    public Integer call() throws Exception {
        Function<String, Optional<String>> settings = name -> Optional.ofNullable(System.getenv(name))
                .or(() -> Optional.ofNullable(System.getProperty(name)));
        RunnerConfig config;
        try {
            config = RunnerConfig.from(settings);
        } catch (IllegalArgumentException e) {
            System.err.println("inference-pam: " + e.getMessage());
            return 2;
        }
        Runner runner;
        try {
            runner = new Runner(config, settings);
        } catch (IllegalArgumentException e) {
            System.err.println("inference-pam: " + e.getMessage());
            return 2;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicReference<Runner> ref = new AtomicReference<>(runner);
        // Registered before the socket exists: a SIGTERM that arrives while the runner starts (APISIX
        // reloads restart it) still closes it and removes the socket.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Runner r = ref.getAndSet(null);
            if (r != null) {
                r.close();
            }
            stopped.countDown();
        }, "pam-shutdown"));
        runner.start();
        // Read after binding: the management classes cost start time we do not want before it.
        long jvmStart = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
        LOG.info("socket ready {} ms after JVM start", System.currentTimeMillis() - jvmStart);
        stopped.await();
        return 0;
    }
}

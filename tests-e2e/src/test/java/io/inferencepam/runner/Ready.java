package io.inferencepam.runner;

import io.inferencepam.e2e.support.RunnerProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * Waits for the runner's readiness ({@code GET /readyz}: socket bound and plugins loaded). The
 * socket accepts connections before the plugins are loaded, and a PrepareConf that waits for them
 * longer than the call deadline fails closed — tests that use a small {@code PAM_CALL_DEADLINE_MS}
 * or measure something wait for readiness first, as an operator's health check would.
 */
final class Ready {
    private Ready() {
    }

    static RunnerProcess await(RunnerProcess runner) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        URI uri = URI.create("http://127.0.0.1:" + runner.controlPort() + "/readyz");
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (http.send(HttpRequest.newBuilder(uri).GET().build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return runner;
                }
            } catch (java.io.IOException notYet) {
                // control server not up yet
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("runner not ready within 60 s:\n" + runner.log());
    }
}

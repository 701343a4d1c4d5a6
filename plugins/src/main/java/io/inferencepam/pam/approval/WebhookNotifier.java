package io.inferencepam.pam.approval;

import io.inferencepam.runner.spi.Metrics;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HexFormat;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers approval events to webhooks, off the request path: asynchronous HTTP POSTs, retried
 * with exponential backoff on connection errors, timeouts, 408, 429 and 5xx (the same delivery id
 * each time, so a receiver can drop duplicates). A failed delivery never touches the approval: it
 * is in Redis before anyone is notified, and reviewers still find it in their list. Every attempt
 * is counted ({@code pam_approval_webhook_total{webhook,result}}) and the final result is handed
 * to {@code outcome} (kept with the approval).
 */
final class WebhookNotifier implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WebhookNotifier.class);
    static final String ATTEMPTS_SETTING = "PAM_APPROVAL_WEBHOOK_ATTEMPTS";
    static final String BACKOFF_SETTING = "PAM_APPROVAL_WEBHOOK_BACKOFF_MS";
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final ScheduledExecutorService scheduler;
    private final Metrics.Counter deliveries;
    private final int attempts;
    private final Duration backoff;
    private volatile HttpClient http;
    private volatile ExecutorService httpExecutor;

    WebhookNotifier(ScheduledExecutorService scheduler, Metrics metrics, int attempts, Duration backoff) {
        this.scheduler = scheduler;
        this.attempts = Math.max(1, attempts);
        this.backoff = backoff;
        this.deliveries = metrics.counter("pam_approval_webhook_total",
                "webhook delivery attempts by webhook name and result (delivered, retried, failed)", "webhook", "result");
    }

    /** A route names a webhook the runner has no setting for: counted as a failed delivery. */
    void unconfigured(String name) {
        deliveries.inc(name, "failed");
    }

    /** Sends {@code body} ({@code event} names it); {@code outcome} gets "delivered …" or "failed …" once. */
    void send(Webhook hook, String event, byte[] body, Consumer<String> outcome) {
        String delivery = UUID.randomUUID().toString();
        attempt(hook, event, body, delivery, 1, outcome);
    }

    private void attempt(Webhook hook, String event, byte[] body, String delivery, int n, Consumer<String> outcome) {
        HttpRequest.Builder b = HttpRequest.newBuilder(hook.url()).timeout(TIMEOUT)
                .header("Content-Type", "application/json").header("User-Agent", "inference-pam")
                .header("X-PAM-Event", event).header("X-PAM-Delivery", delivery)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        hook.secret().ifPresent(k -> b.header("X-PAM-Signature", "sha256=" + hmac(k, body)));
        java.util.concurrent.CompletableFuture<HttpResponse<Void>> sent;
        try {
            sent = client().sendAsync(b.build(), HttpResponse.BodyHandlers.discarding());
        } catch (RuntimeException e) {
            sent = java.util.concurrent.CompletableFuture.failedFuture(e);
        }
        sent.whenComplete((resp, err) -> {
            int status = resp == null ? 0 : resp.statusCode();
            if (err == null && status / 100 == 2) {
                deliveries.inc(hook.name(), "delivered");
                outcome.accept("delivered after " + n + " attempt" + (n == 1 ? "" : "s"));
                return;
            }
            String why = err != null ? err.getClass().getSimpleName() : "HTTP " + status;
            boolean retryable = err != null || status == 408 || status == 429 || status >= 500;
            if (retryable && n < attempts) {
                deliveries.inc(hook.name(), "retried");
                long delay = backoff.toMillis() << Math.min(n - 1, 16);
                try {
                    scheduler.schedule(() -> attempt(hook, event, body, delivery, n + 1, outcome), delay, TimeUnit.MILLISECONDS);
                    return;
                } catch (RuntimeException shuttingDown) {
                    // fall through: counted as failed
                }
            }
            deliveries.inc(hook.name(), "failed");
            LOG.warn("approval webhook {} failed after {} attempt(s): {}", hook.name(), n, why);
            outcome.accept("failed after " + n + " attempt" + (n == 1 ? "" : "s") + ": " + why);
        });
    }

    /** Created on first use: a runner without webhooks starts no HTTP client threads. */
    private HttpClient client() {
        HttpClient c = http;
        if (c == null) {
            synchronized (this) {
                c = http;
                if (c == null) {
                    httpExecutor = Executors.newFixedThreadPool(2, r -> {
                        Thread t = new Thread(r, "pam-approval-webhooks");
                        t.setDaemon(true);
                        return t;
                    });
                    c = HttpClient.newBuilder().connectTimeout(TIMEOUT).executor(httpExecutor)
                            .followRedirects(HttpClient.Redirect.NEVER).build();
                    http = c;
                }
            }
        }
        return c;
    }

    static String hmac(byte[] key, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(body));
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        ExecutorService e = httpExecutor;
        if (e != null) {
            e.shutdownNow();
        }
    }
}

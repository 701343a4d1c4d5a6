package io.inferencepam.runner;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.LocalIssuer;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.e2e.support.RunnerProcess;
import io.inferencepam.pam.auth.CredentialCipher;
import io.inferencepam.pam.auth.CredentialStore;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import redis.clients.jedis.JedisPooled;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A route's first call does not pay for what a conf needs once (the issuer's keys, the audit
 * service's start): that work runs while the conf is prepared, under the PrepareConf deadline
 * ({@code PAM_PREPARE_DEADLINE_MS}), not under the call's. Real runner process, real (local) OIDC
 * issuer over HTTP, real Redis; each case on a fresh runner, after its readiness, so the conf is
 * cold and the plugins are loaded. Slowness is made, not hoped for: the issuer holds its JWKS
 * answer, Redis is stopped (SIGSTOP), each for longer than the call deadline.
 */
class ColdFirstCallE2ETest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CHAT = "{\"model\":\"llama-3-8b\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    static EchoUpstream upstream;

    @BeforeAll
    static void start() throws Exception {
        upstream = EchoUpstream.start();
    }

    @AfterAll
    static void stop() throws Exception {
        upstream.close();
    }

    static RouteConf authRoute(String id, LocalIssuer idp) {
        String auth = "{\"issuer\":\"" + idp.issuer + "\",\"audiences\":[\"inference\"],\"jwks_min_refresh_seconds\":1,"
                + "\"entitlements\":[{\"id\":\"analysts\",\"groups\":[\"analysts\"],\"allow\":[\"llama-3-*\"]}]}";
        return RouteConf.builder(id).preReq(new ConfEntry("pam-auth", auth)).build();
    }

    static ClientRequest chat(String bearer) {
        ClientRequest.Builder b = ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "gw.test")
                .header("Content-Type", "application/json").body(CHAT);
        return bearer == null ? b.build() : b.header("Authorization", "Bearer " + bearer).build();
    }

    /**
     * The issuer answers its JWKS 4 s late, the call deadline is 2 s: the keys are loaded while the
     * conf is prepared, so the first call verifies the token at once. On main the first call
     * waited for the keys inside its own deadline and was answered 503.
     */
    @Test
    void aSlowJwksIsLoadedWhileTheConfIsPreparedSoTheFirstCallPasses() throws Exception {
        try (LocalIssuer idp = new LocalIssuer();
             RunnerProcess runner = Ready.await(RunnerProcess.start(Map.of("PAM_CALL_DEADLINE_MS", "2000")));
             ApisixDriver apisix = new ApisixDriver(runner.socket())) {
            idp.serveKeysAfter(Duration.ofSeconds(4));
            String token = idp.token("alice", "inference", List.of("analysts"));
            GatewayResult first = apisix.call(authRoute("cold-slow-jwks", idp), chat(token), upstream);
            assertThat(first.status()).as(first.toString()).isEqualTo(200);
            assertThat(first.upstreamRequests()).hasSize(1);
        }
    }

    /**
     * The issuer is down while the conf is prepared: the warm-up fails, the conf is bound all the
     * same (no refusal), and the call answers what pam-auth answers without keys: 503
     * {@code identity_provider_unavailable}, never 401, never a pass. Once the issuer is back, a later call on the
     * same conf token loads the keys (an unknown key's refresh, at most once per
     * {@code jwks_min_refresh_seconds}) and passes.
     */
    @Test
    void anIssuerDownWhileTheConfIsPreparedFailsClosedThenWorksOnceItIsBack() throws Exception {
        try (LocalIssuer idp = new LocalIssuer();
             RunnerProcess runner = Ready.await(RunnerProcess.start(Map.of("PAM_CALL_DEADLINE_MS", "2000")));
             ApisixDriver apisix = new ApisixDriver(runner.socket())) {
            idp.down();
            String token = idp.token("alice", "inference", List.of("analysts"));
            RouteConf route = authRoute("cold-idp-down", idp);
            GatewayResult first = apisix.call(route, chat(token), upstream);
            assertThat(first.status()).as(first.toString()).isEqualTo(503);
            assertThat(JSON.readTree(first.body()).path("error").path("code").asText()).as(first.toString()).isEqualTo("identity_provider_unavailable");
            assertThat(first.upstreamRequests()).isEmpty();
            idp.up();
            GatewayResult later = first;
            // readiness of the issuer, not timing: each call may trigger one refresh per second
            for (int i = 0; i < 40 && later.status() != 200; i++) {
                Thread.sleep(250);
                later = apisix.call(route, chat(token), upstream);
                assertThat(later.status()).as(later.toString()).isIn(200, 503);
            }
            assertThat(later.status()).as(later.toString()).isEqualTo(200);
            assertThat(runner.log()).doesNotContain("PrepareConf route#cold-idp-down#ext-plugin-pre-req");
        }
    }

    /**
     * pam-record's audit service starts with the first conf that lists it; with a configured
     * instance id and a fresh spool it reads its chain anchor from Redis, which is stopped for
     * 1.5 s (under the Redis client's 2 s timeout), longer than the 1 s call deadline. The start runs under the PrepareConf deadline and
     * the first call passes, recorded. On main PrepareConf had the call's deadline and the route
     * answered 503.
     */
    @Test
    void theAuditServiceStartsWhileTheConfIsPreparedSoTheFirstRecordedCallPasses() throws Exception {
        try (RedisServer redis = RedisServer.start();
             RunnerProcess runner = Ready.await(RunnerProcess.start(Map.of("PAM_CALL_DEADLINE_MS", "1000",
                     "PAM_REDIS_URL", redis.url(), "PAM_AUDIT_INSTANCE_ID", "gw-cold")));
             ApisixDriver apisix = new ApisixDriver(runner.socket())) {
            RouteConf route = RouteConf.builder("cold-record").preReq(new ConfEntry("pam-record", "{}"))
                    .postResp(new ConfEntry("pam-record", "{}")).build();
            GatewayResult first = whileRedisIsStopped(redis, () -> apisix.call(route, chat(null), upstream));
            assertThat(first.status()).as(first.toString() + "\n" + runner.log()).isEqualTo(200);
            assertThat(first.upstreamRequests()).hasSize(1);
        }
    }

    /**
     * pam-auth's upstream credential is read from Redis while the conf is prepared, so the first
     * call injects it at once. Redis is stopped for 1.5 s (under the Redis client's 2 s timeout)
     * while the conf is prepared and the first call runs, longer than the 1 s call deadline. On
     * main the first call read the credential inside its own deadline and was answered 503
     * {@code credential_store_unavailable}.
     */
    @Test
    void theUpstreamCredentialIsReadWhileTheConfIsPreparedSoTheFirstCallInjectsIt() throws Exception {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String keyB64 = Base64.getEncoder().encodeToString(key);
        try (LocalIssuer idp = new LocalIssuer();
             RedisServer redis = RedisServer.start()) {
            try (JedisPooled jedis = new JedisPooled(redis.url())) {
                CredentialCipher cipher = CredentialCipher.fromSetting(Optional.of(keyB64)).get().orElseThrow();
                new CredentialStore(jedis, cipher).put("cold-upstream", "sk-cold-1", CredentialStore.Mode.SET, Duration.ZERO,
                        System.currentTimeMillis());
            }
            try (RunnerProcess runner = Ready.await(RunnerProcess.start(Map.of("PAM_CALL_DEADLINE_MS", "1000",
                         "PAM_REDIS_URL", redis.url(), "PAM_CREDENTIAL_KEY", keyB64)));
                 ApisixDriver apisix = new ApisixDriver(runner.socket())) {
                String auth = "{\"issuer\":\"" + idp.issuer + "\",\"audiences\":[\"inference\"],"
                        + "\"upstream_credential\":\"cold-upstream\","
                        + "\"entitlements\":[{\"id\":\"analysts\",\"groups\":[\"analysts\"],\"allow\":[\"llama-3-*\"]}]}";
                RouteConf route = RouteConf.builder("cold-credential").preReq(new ConfEntry("pam-auth", auth)).build();
                String token = idp.token("alice", "inference", List.of("analysts"));
                GatewayResult first = whileRedisIsStopped(redis, () -> apisix.call(route, chat(token), upstream));
                assertThat(first.status()).as(first.toString()).isEqualTo(200);
                assertThat(first.upstreamRequests()).hasSize(1);
                assertThat(first.upstreamRequests().get(0).header("authorization")).contains("Bearer sk-cold-1");
            }
        }
    }

    /** Makes the call with Redis stopped (SIGSTOP) for its first 1.5 s: under the Redis client's 2 s timeout. */
    static GatewayResult whileRedisIsStopped(RedisServer redis, java.util.concurrent.Callable<GatewayResult> call) throws Exception {
        redis.pause();
        Thread resume = new Thread(() -> {
            try {
                Thread.sleep(1_500);
                redis.resume();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        resume.start();
        try {
            return call.call();
        } finally {
            resume.join();
        }
    }
}

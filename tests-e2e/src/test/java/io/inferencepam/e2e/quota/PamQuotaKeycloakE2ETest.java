package io.inferencepam.e2e.quota;

import static io.inferencepam.e2e.quota.QuotaSupport.field;
import static io.inferencepam.e2e.quota.QuotaSupport.key;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.inferencepam.driver.ApisixDriver;
import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.EchoUpstream;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.e2e.support.KeycloakServer;
import io.inferencepam.e2e.support.RedisServer;
import io.inferencepam.e2e.support.RunnerProcess;
import java.net.URI;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.JedisPooled;

/**
 * pam-quota behind the real pam-auth: principals from real Keycloak access tokens (the realm of
 * the pam-auth tests), so the quota key is the verified issuer and subject, and a call pam-auth
 * refuses never reaches (or counts in) a quota.
 */
class PamQuotaKeycloakE2ETest {
    static KeycloakServer keycloak;
    static RedisServer redis;
    static RunnerProcess runner;
    static ApisixDriver driver;
    static EchoUpstream upstream;
    static JedisPooled jedis;

    @BeforeAll
    static void start() throws Exception {
        Path dir = Path.of("src/test/resources/keycloak");
        keycloak = KeycloakServer.shared(List.of(dir.resolve("realm-pam.json"), dir.resolve("realm-other.json")));
        redis = RedisServer.start();
        runner = RunnerProcess.start(Map.of("PAM_REDIS_URL", redis.url()));
        upstream = EchoUpstream.start();
        driver = new ApisixDriver(runner.socket());
        jedis = new JedisPooled(URI.create(redis.url()), 5000);
    }

    @AfterAll
    static void stop() throws Exception {
        for (AutoCloseable c : new AutoCloseable[] {jedis, driver, upstream, runner, redis}) {
            if (c != null) {
                c.close();
            }
        }
    }

    static RouteConf route() {
        String auth = "{\"issuer\":\"" + keycloak.issuer("pam") + "\",\"audiences\":[\"inference\"],"
                + "\"entitlements\":[{\"id\":\"analysts-llama\",\"groups\":[\"analysts\"],\"allow\":[\"llama-3-*\"]},"
                + "{\"id\":\"ml-all\",\"groups\":[\"ml-engineers\"],\"allow\":[\"*\"]}]}";
        String quota = "{\"limits\":[{\"id\":\"kc-llama\",\"window_seconds\":86400,\"requests\":2,\"models\":[\"llama-3-*\"]}]}";
        return RouteConf.builder("qk-route").preReq(new ConfEntry("pam-auth", auth), new ConfEntry("pam-quota", quota))
                .postResp(new ConfEntry("pam-quota", quota)).build();
    }

    static GatewayResult chat(String token, String model) {
        return driver.call(route(), ClientRequest.builder("POST", "/v1/chat/completions").header("Host", "gw.test")
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
                .body("{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").build(), upstream);
    }

    static String subject(String jwt) throws Exception {
        return new ObjectMapper().readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[1])).path("sub").asText();
    }

    @Test
    void eachVerifiedPrincipalHasItsOwnBudget() throws Exception {
        String alice = keycloak.passwordToken("pam", "pam-cli", "alice", "alice-pw");
        String bob = keycloak.passwordToken("pam", "pam-cli", "bob", "bob-pw");
        assertThat(chat(alice, "llama-3-8b").status()).isEqualTo(200);
        assertThat(chat(alice, "llama-3-70b").status()).isEqualTo(200);
        GatewayResult third = chat(alice, "llama-3-8b");
        assertThat(third.status()).isEqualTo(429);
        assertThat(third.bodyUtf8()).contains("\"code\":\"quota_exceeded\"");
        assertThat(chat(bob, "llama-3-8b").status()).as("bob's own budget").isEqualTo(200);
        assertThat(chat(bob, "mistral-7b").status()).as("the limit covers llama-3-* only").isEqualTo(200);

        // refused by pam-auth: never reaches pam-quota, counts nothing
        assertThat(chat(alice, "mistral-7b").status()).as("alice is not entitled to it").isEqualTo(404);
        assertThat(chat("not-a-token", "llama-3-8b").status()).isEqualTo(401);

        String issuer = keycloak.issuer("pam");
        assertThat(field(jedis, key(issuer, subject(alice), "kc-llama", 86_400, Optional.empty()), "r")).isEqualTo(2);
        assertThat(field(jedis, key(issuer, subject(bob), "kc-llama", 86_400, Optional.empty()), "r")).isEqualTo(1);
    }
}

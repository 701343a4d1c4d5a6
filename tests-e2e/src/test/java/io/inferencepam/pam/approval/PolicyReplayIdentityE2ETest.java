package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.driver.ClientRequest;
import io.inferencepam.driver.ConfEntry;
import io.inferencepam.driver.GatewayResult;
import io.inferencepam.driver.RouteConf;
import io.inferencepam.pam.record.query.PolicyReplay;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code pamctl audit policy-replay} on records made by a real runner process with the real
 * pam-auth (Keycloak tokens), pam-approval and pam-record (issue 14 §5): the token is never
 * recorded, so replay evaluates the candidate as the recorded, verified principal. The identical
 * conf changes nothing (it used to report every call {@code now_blocked}, 401 by pam-auth); a conf
 * that denies one model reports exactly the calls to that model.
 */
class PolicyReplayIdentityE2ETest {
    static final String ROUTE = "replay-identity";
    static final String APPROVAL = "{\"rules\":[{\"id\":\"sensitive\",\"models\":[\"secret-*\"]}],\"reviewer_groups\":[\"reviewers\"]}";
    static ApprovalFixture fx;

    @BeforeAll
    static void start() throws Exception {
        Path spool = Files.createTempDirectory("pam-replay-identity");
        fx = new ApprovalFixture(Map.of("PAM_AUDIT_SPOOL_DIR", spool.toString()));
    }

    @AfterAll
    static void stop() throws Exception {
        if (fx != null) {
            fx.close();
        }
    }

    static String auth(String deny) {
        return fx.authConf().replace("\"allow\":[\"*\"]", "\"allow\":[\"*\"],\"deny\":[" + deny + "]");
    }

    static RouteConf live() {
        return RouteConf.builder(ROUTE).preReq(new ConfEntry("pam-record", "{}"), new ConfEntry("pam-auth", auth("")),
                new ConfEntry("pam-approval", APPROVAL)).postResp(new ConfEntry("pam-record", "{}")).build();
    }

    /** The same route as an APISIX Admin API body. */
    static String candidate(String authConf) {
        return "{\"id\":\"" + ROUTE + "\",\"plugins\":{\"ext-plugin-pre-req\":{\"conf\":["
                + "{\"name\":\"pam-record\",\"value\":\"{}\"},"
                + "{\"name\":\"pam-auth\",\"value\":" + quote(authConf) + "},"
                + "{\"name\":\"pam-approval\",\"value\":" + quote(APPROVAL) + "}]},"
                + "\"ext-plugin-post-resp\":{\"conf\":[{\"name\":\"pam-record\",\"value\":\"{}\"}]}}}";
    }

    @Test
    void theIdenticalConfChangesNothingAndDenyingOneModelReportsExactlyItsCalls() throws Exception {
        RouteConf route = live();
        GatewayResult bobA = fx.call(route, "bob", ApprovalFixture.chat("llama-a"));
        GatewayResult bobB = fx.call(route, "bob", ApprovalFixture.chat("llama-b"));
        GatewayResult aliceB = fx.call(route, "alice", ApprovalFixture.chat("llama-b"));
        GatewayResult held = fx.call(route, "bob", ApprovalFixture.chat("secret-x"));
        GatewayResult noToken = fx.driver.call(route, ClientRequest.builder("POST", "/v1/chat/completions")
                .header("Host", "gw.test").header("Authorization", "Bearer not-a-token")
                .header("Content-Type", "application/json").body(ApprovalFixture.chat("llama-a")).build(), fx.upstream);
        assertThat(List.of(bobA.status(), bobB.status(), aliceB.status(), held.status(), noToken.status()))
                .containsExactly(200, 200, 200, 403, 401);
        List<String> ids = List.of(bobA.requestId(), bobB.requestId(), aliceB.requestId(), held.requestId(), noToken.requestId());
        awaitRecords(ids);

        ApprovalAuditE2ETest.Run same = replay(candidate(auth("")));
        assertThat(same.code()).as(same.out()).isZero();
        assertThat(same.out()).contains(PolicyReplay.IDENTITY).contains("summary: {UNCHANGED=5}").doesNotContain("change=");

        ApprovalAuditE2ETest.Run denyB = replay(candidate(auth("\"llama-b\"")));
        assertThat(denyB.code()).as(denyB.out()).isZero();
        List<String> changed = denyB.out().lines().filter(l -> l.contains("change=")).toList();
        assertThat(changed).hasSize(2);
        assertThat(changed).anySatisfy(l -> assertThat(l).startsWith(bobB.requestId()).contains("change=now_blocked")
                .contains("stop 404 by pam-auth"));
        assertThat(changed).anySatisfy(l -> assertThat(l).startsWith(aliceB.requestId()).contains("change=now_blocked"));
        assertThat(denyB.out()).contains("summary: {UNCHANGED=3, NOW_BLOCKED=2}");
    }

    static ApprovalAuditE2ETest.Run replay(String route) throws Exception {
        Path file = Files.createTempFile("candidate", ".json");
        Files.writeString(file, route);
        return ApprovalAuditE2ETest.pamctl("audit", "policy-replay", "--redis", fx.redis.url(), "--route", ROUTE,
                "--route-conf", file.toString());
    }

    static void awaitRecords(List<String> ids) throws Exception {
        long end = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < end) {
            ApprovalAuditE2ETest.Run r = ApprovalAuditE2ETest.pamctl("audit", "search", "--redis", fx.redis.url(), "--route", ROUTE,
                    "--limit", "100");
            if (ids.stream().allMatch(id -> r.out().contains("\"id\":\"" + id + "\""))) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("calls not recorded: " + ids);
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}

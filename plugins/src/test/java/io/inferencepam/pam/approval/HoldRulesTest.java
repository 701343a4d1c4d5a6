package io.inferencepam.pam.approval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.inferencepam.pam.core.Decision;
import io.inferencepam.pam.core.Principal;
import io.inferencepam.runner.spi.InvalidConfException;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HoldRulesTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final JsonSchema SCHEMA = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012)
            .getSchema(ApprovalConf.SCHEMA);
    static final Principal BOB = new Principal("https://idp", "sub-bob", "bob", List.of("ml-engineers"), "pam-cli");
    static final Principal AGENT = new Principal("https://idp", "sub-agent", "", List.of(), "agent-7");
    /** Tuesday 2025-03-04 10:00 in Paris. */
    static final long TUESDAY_10 = ZonedDateTime.of(2025, 3, 4, 10, 0, 0, 0, ZoneId.of("Europe/Paris")).toInstant().toEpochMilli();

    static ApprovalConf conf(String rulesJson) throws Exception {
        JsonNode node = JSON.readTree("{\"reviewer_groups\":[\"reviewers\"],\"rules\":" + rulesJson + "}");
        assertThat(SCHEMA.validate(node)).as("schema").isEmpty();
        return ApprovalConf.parse(node);
    }

    static HoldRule rule(String json) throws Exception {
        return conf("[" + json + "]").rules().get(0);
    }

    record Call(Principal principal, String model, long epochMillis, List<Decision> earlierDecisions, String body,
                Set<String> wanted) implements HoldRule.Call {
        Call(Principal p, String model) {
            this(p, model, TUESDAY_10, List.of(), "{}", Set.of());
        }

        Call at(long millis) {
            return new Call(principal, model, millis, earlierDecisions, body, wanted);
        }

        Call body(String b, Set<String> names) {
            return new Call(principal, model, epochMillis, earlierDecisions, b, names);
        }

        public BodyParams params() {
            return BodyParams.read(body.getBytes(StandardCharsets.UTF_8), wanted);
        }
    }

    @Test
    void modelsAreMatchedTheWideWayASegmentStarCrossesSeparators() throws Exception {
        HoldRule r = rule("{\"id\":\"sensitive\",\"models\":[\"gpt-4*\",\"org/secret-*\"]}");
        assertThat(r.matches(new Call(BOB, "gpt-4o"))).isTrue();
        assertThat(r.matches(new Call(BOB, "gpt-4o:latest"))).as("a tag does not escape the hold").isTrue();
        assertThat(r.matches(new Call(BOB, "org/secret-llm"))).isTrue();
        assertThat(r.matches(new Call(BOB, "gpt-3.5"))).isFalse();
        assertThat(r.matches(new Call(BOB, ""))).as("model-free call").isFalse();
    }

    @Test
    void everyConditionOfARuleMustHold() throws Exception {
        HoldRule r = rule("{\"id\":\"r\",\"models\":[\"big\"],\"principal_lacks_groups\":[\"ml-prod\"]}");
        assertThat(r.matches(new Call(BOB, "big"))).isTrue();
        assertThat(r.matches(new Call(BOB, "small"))).isFalse();
        Principal prod = new Principal("https://idp", "s", "p", List.of("ml-prod", "x"), "");
        assertThat(r.matches(new Call(prod, "big"))).isFalse();
    }

    @Test
    void subjectsAndClientLists() throws Exception {
        assertThat(rule("{\"id\":\"s\",\"subjects\":[\"sub-bob\"]}").matches(new Call(BOB, "m"))).isTrue();
        assertThat(rule("{\"id\":\"s\",\"subjects\":[\"sub-bob\"]}").matches(new Call(AGENT, "m"))).isFalse();
        assertThat(rule("{\"id\":\"c\",\"clients\":[\"agent-7\"]}").matches(new Call(AGENT, "m"))).isTrue();
        assertThat(rule("{\"id\":\"c\",\"clients\":[\"agent-7\"]}").matches(new Call(BOB, "m"))).isFalse();
        Principal noClient = new Principal("https://idp", "x", "", List.of(), "");
        assertThat(rule("{\"id\":\"c\",\"clients\":[\"agent-7\"]}").matches(new Call(noClient, "m"))).isFalse();
    }

    @Test
    void outsideBusinessHoursIncludingOvernightWindows() throws Exception {
        HoldRule office = rule("{\"id\":\"o\",\"outside_hours\":{\"timezone\":\"Europe/Paris\",\"days\":[\"MON\",\"TUE\",\"WED\",\"THU\",\"FRI\"],"
                + "\"from\":\"08:00\",\"to\":\"18:00\"}}");
        Call c = new Call(BOB, "m");
        assertThat(office.matches(c.at(TUESDAY_10))).isFalse();
        assertThat(office.matches(c.at(TUESDAY_10 + 8 * 3_600_000L))).as("18:00 is outside").isTrue();
        assertThat(office.matches(c.at(TUESDAY_10 - 2 * 3_600_000L))).as("08:00 is inside").isFalse();
        assertThat(office.matches(c.at(TUESDAY_10 + 4 * 86_400_000L))).as("Saturday").isTrue();
        HoldRule night = rule("{\"id\":\"n\",\"outside_hours\":{\"timezone\":\"UTC\",\"days\":[\"FRI\"],\"from\":\"22:00\",\"to\":\"06:00\"}}");
        long friday23 = ZonedDateTime.of(2025, 3, 7, 23, 0, 0, 0, ZoneId.of("UTC")).toInstant().toEpochMilli();
        assertThat(night.matches(c.at(friday23))).isFalse();
        assertThat(night.matches(c.at(friday23 + 4 * 3_600_000L))).as("Saturday 03:00 belongs to Friday's shift").isFalse();
        assertThat(night.matches(c.at(friday23 + 8 * 3_600_000L))).as("Saturday 07:00").isTrue();
        assertThat(night.matches(c.at(friday23 - 86_400_000L))).as("Thursday 23:00").isTrue();
        HoldRule allDay = rule("{\"id\":\"a\",\"outside_hours\":{\"timezone\":\"UTC\",\"from\":\"00:00\",\"to\":\"24:00\"}}");
        assertThat(allDay.matches(c.at(friday23 + 59 * 60_000L))).as("23:59 is inside 00:00-24:00").isFalse();
    }

    @Test
    void paramsAboveThresholdsAreReadConservatively() throws Exception {
        HoldRule r = rule("{\"id\":\"p\",\"params_above\":{\"max_tokens\":4096,\"n\":1,\"logprobs\":0,\"options.num_predict\":4096}}");
        Set<String> wanted = Set.of("max_tokens", "n", "logprobs", "options.num_predict");
        Call c = new Call(BOB, "m");
        assertThat(r.matches(c.body("{\"max_tokens\":4096,\"n\":1}", wanted))).isFalse();
        assertThat(r.matches(c.body("{\"max_tokens\":4097}", wanted))).isTrue();
        assertThat(r.matches(c.body("{\"max_tokens\":1,\"max_tokens\":9999}", wanted))).as("duplicate key: largest").isTrue();
        assertThat(r.matches(c.body("{\"max_tokens\":9999,\"max_tokens\":1}", wanted))).as("duplicate key: largest").isTrue();
        assertThat(r.matches(c.body("{\"max_tokens\":\"8192\"}", wanted))).as("numeric string").isTrue();
        assertThat(r.matches(c.body("{\"logprobs\":true}", wanted))).as("true counts as 1").isTrue();
        assertThat(r.matches(c.body("{\"logprobs\":false,\"max_tokens\":1}", wanted))).isFalse();
        assertThat(r.matches(c.body("{\"options\":{\"num_predict\":10000}}", wanted))).isTrue();
        assertThat(r.matches(c.body("{\"messages\":[{\"max_tokens\":99999}],\"meta\":{\"n\":9},\"max_tokens\":1}", wanted)))
                .as("nested copies are other fields").isFalse();
        assertThat(r.matches(c.body("{\"max_tokens\":1e400}", wanted))).as("overflow is above").isTrue();
        assertThat(r.matches(c.body("not json", wanted))).as("unreadable body: hold").isTrue();
        assertThat(r.matches(c.body("{\"n\":1} {\"n\":5}", wanted))).as("trailing document: hold").isTrue();
        assertThat(r.matches(c.body("[1]", wanted))).isTrue();
    }

    @Test
    void flaggedMatchesOnlyAFlagDecision() throws Exception {
        HoldRule r = rule("{\"id\":\"f\",\"flagged\":true}");
        Call c = new Call(BOB, "m");
        assertThat(r.matches(c)).isFalse();
        Call allowed = new Call(BOB, "m", TUESDAY_10, List.of(new Decision("pam-auth", "x", Decision.Outcome.ALLOW, "")), "{}", Set.of());
        assertThat(r.matches(allowed)).isFalse();
        Call flagged = new Call(BOB, "m", TUESDAY_10, List.of(new Decision("pam-auth", "x", Decision.Outcome.ALLOW, ""),
                new Decision("pam-guard", "codename", Decision.Outcome.FLAG, "prompt rule matched at messages[0].content")), "{}", Set.of());
        assertThat(r.matches(flagged)).isTrue();
    }

    @Test
    void alwaysAndEmptyRules() throws Exception {
        assertThat(rule("{\"id\":\"a\",\"always\":true}").matches(new Call(AGENT, ""))).isTrue();
        assertThatThrownBy(() -> rule("{\"id\":\"empty\"}")).isInstanceOf(InvalidConfException.class)
                .hasMessageContaining("at least one condition");
    }

    @Test
    void confDefaultsAndRefusals() throws Exception {
        ApprovalConf c = conf("[{\"id\":\"a\",\"always\":true}]");
        assertThat(c.requiredApprovals()).isEqualTo(1);
        assertThat(c.ttl().toSeconds()).isEqualTo(3600);
        assertThat(c.statusUrl("apr_x")).isEqualTo("/pam/approvals/apr_x");
        String base = "{\"reviewer_groups\":[\"r\"],\"rules\":[{\"id\":\"a\",\"always\":true}]";
        assertThat(SCHEMA.validate(JSON.readTree(base + ",\"required_approvals\":6}"))).isNotEmpty();
        assertThat(SCHEMA.validate(JSON.readTree(base + ",\"ttl_seconds\":10}"))).isNotEmpty();
        assertThat(SCHEMA.validate(JSON.readTree(base + ",\"status_url\":\"javascript:alert(1)/{id}\"}"))).isNotEmpty();
        assertThat(SCHEMA.validate(JSON.readTree(base + ",\"unknown\":1}"))).isNotEmpty();
        assertThat(c.liveWait().toSeconds()).isEqualTo(45);
        assertThat(SCHEMA.validate(JSON.readTree(base + ",\"wait_seconds\":50}"))).isEmpty();
        assertThat(SCHEMA.validate(JSON.readTree(base + ",\"wait_seconds\":51}"))).as("APISIX's 60 s would cut it").isNotEmpty();
        assertThat(SCHEMA.validate(JSON.readTree(base + ",\"wait_seconds\":0}"))).as("parked at once").isEmpty();
        assertThat(SCHEMA.validate(JSON.readTree("{\"rules\":[{\"id\":\"a\",\"always\":true}]}"))).as("reviewer_groups required").isNotEmpty();
        assertThat(SCHEMA.validate(JSON.readTree(base.replace("\"always\":true", "\"params_above\":{\"a..b\":1}") + "}"))).isNotEmpty();
        assertThatThrownBy(() -> ApprovalConf.parse(JSON.readTree(base + ",\"status_url\":\"/x\"}")))
                .isInstanceOf(InvalidConfException.class);
        assertThatThrownBy(() -> conf("[{\"id\":\"a\",\"always\":true},{\"id\":\"a\",\"always\":true}]"))
                .hasMessageContaining("duplicate");
        assertThatThrownBy(() -> conf("[{\"id\":\"t\",\"outside_hours\":{\"timezone\":\"Mars/Olympus\",\"from\":\"08:00\",\"to\":\"18:00\"}}]"))
                .hasMessageContaining("time zone");
    }
}

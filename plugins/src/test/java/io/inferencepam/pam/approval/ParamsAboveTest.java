package io.inferencepam.pam.approval;

import static io.inferencepam.pam.approval.HoldRulesTest.BOB;
import static io.inferencepam.pam.approval.HoldRulesTest.rule;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code params_above} read as the model servers read the body: names folded as Go's decoder folds
 * them (Ollama), numeric strings as pydantic reads them (vLLM), a missing output-token limit as no
 * limit (the server's default is the rest of the context, or unlimited).
 */
class ParamsAboveTest {
    static final Set<String> WANTED = Set.of("max_tokens", "options.num_predict");

    static boolean held(HoldRule r, String body) {
        return r.matches(new HoldRulesTest.Call(BOB, "m").body(body, WANTED));
    }

    static HoldRule limits() throws Exception {
        return rule("{\"id\":\"long\",\"params_above\":{\"max_tokens\":4096,\"options.num_predict\":4096}}");
    }

    @Test
    void namesAreFoldedAsACaseInsensitiveDecoderReadsThem() throws Exception {
        HoldRule r = limits();
        for (String body : List.of("{\"MAX_TOKENS\":99999}", "{\"Max_Tokens\":99999}", "{\"maxTokens\":99999}",
                "{\"max-tokens\":99999}", "{\"max_to\u212Aens\":99999}", "{\"Options\":{\"num_predict\":99999}}",
                "{\"OPTIONS\":{\"NUM_PREDICT\":99999}}", "{\"options\":{\"numPredict\":99999}}",
                "{\"max_tokens\":1,\"MAX_TOKENS\":99999}", "{\"MAX_TOKENS\":99999,\"max_tokens\":1}",
                "{\"options\":{\"num_predict\":1},\"Options\":{\"num_predict\":99999}}")) {
            assertThat(held(r, body)).as(body).isTrue();
        }
        assertThat(held(r, "{\"max_tokens\":100,\"MAX_TOKENS\":4096}")).as("every spelling within the threshold").isFalse();
        assertThat(held(r, "{\"Options\":{\"Num_Predict\":4096}}")).isFalse();
    }

    @Test
    void numericStringsAreReadAsPydanticReadsThem() throws Exception {
        HoldRule r = limits();
        for (String v : List.of("\"99_999\"", "\"+99999\"", "\" 99999 \"", "\"\\t99999\\n\"", "\"99999.0\"", "\"1e5\"",
                "\"1E+5\"", "\"9_9_9_9_9\"")) {
            assertThat(held(r, "{\"max_tokens\":" + v + "}")).as(v).isTrue();
        }
        assertThat(held(r, "{\"max_tokens\":\"1_000\"}")).isFalse();
        assertThat(held(r, "{\"max_tokens\":\" +4096.00 \"}")).isFalse();
    }

    @Test
    void aValuePresentButNotANumberWeCanReadIsHeld() throws Exception {
        HoldRule r = limits();
        for (String v : List.of("\"abc\"", "\"\"", "\"0x1869F\"", "\"inf\"", "\"NaN\"", "\"Infinity\"", "\"99999d\"",
                "\"\u00a099999\"", "[99999]", "{\"v\":99999}", "[]")) {
            assertThat(held(r, "{\"max_tokens\":" + v + "}")).as(v).isTrue();
        }
    }

    @Test
    void aMissingOrUnlimitedTokenLimitIsHeld() throws Exception {
        HoldRule r = limits();
        assertThat(held(r, "{\"model\":\"m\",\"messages\":[]}")).as("no limit: the rest of the context").isTrue();
        assertThat(held(r, "{\"max_tokens\":null}")).as("null is the server's default").isTrue();
        assertThat(held(r, "{\"options\":{\"num_predict\":-1}}")).as("Ollama: -1 is unlimited").isTrue();
        assertThat(held(r, "{\"options\":{\"num_predict\":-2}}")).as("Ollama: -2 fills the context").isTrue();
        assertThat(held(r, "{\"options\":{\"num_predict\":0}}")).isTrue();
        assertThat(held(r, "{\"options\":{}}")).isTrue();
        assertThat(held(r, "{\"options\":\"x\",\"messages\":[{\"max_tokens\":1}]}")).as("nested copies are other fields").isTrue();
        assertThat(held(r, "{\"max_tokens\":100}")).as("one of the rule's limits given").isFalse();
        assertThat(held(r, "{\"options\":{\"num_predict\":100}}")).isFalse();
        assertThat(held(r, "")).as("no body: nothing is generated from it").isFalse();
    }

    static final List<String> FAMILY = List.of("max_tokens", "max_completion_tokens", "max_output_tokens",
            "max_new_tokens", "num_predict", "max_tokens_to_sample");

    @Test
    void everyOutputTokenLimitAtTheRulesLevelIsCheckedAgainstTheRulesThreshold() throws Exception {
        HoldRule r = rule("{\"id\":\"long\",\"params_above\":{\"max_tokens\":4096}}");
        assertThat(held(r, "{\"max_tokens\":1,\"max_completion_tokens\":999999}"))
                .as("the reviewer's body: vLLM reads max_completion_tokens first").isTrue();
        for (String member : FAMILY) {
            assertThat(held(r, "{\"max_tokens\":1,\"" + member + "\":999999}")).as(member).isTrue();
            assertThat(held(r, "{\"max_tokens\":1,\"" + member.toUpperCase(java.util.Locale.ROOT).replace("_", "-") + "\":\"99_999\"}"))
                    .as(member + " in another spelling").isTrue();
            assertThat(held(r, "{\"max_tokens\":1,\"" + member + "\":-1}")).as(member + " unlimited").isTrue();
            assertThat(held(r, "{\"max_tokens\":1,\"" + member + "\":\"lots\"}")).as(member + " unreadable").isTrue();
            assertThat(held(r, "{\"max_tokens\":1,\"" + member + "\":4096}")).as(member + " within").isFalse();
        }
        HoldRule nested = rule("{\"id\":\"long\",\"params_above\":{\"options.num_predict\":4096}}");
        for (String member : FAMILY) {
            assertThat(held(nested, "{\"options\":{\"num_predict\":1,\"" + member + "\":999999}}")).as("options." + member).isTrue();
            assertThat(held(nested, "{\"Options\":{\"num_predict\":1},\"OPTIONS\":{\"" + member + "\":999999}}"))
                    .as("options." + member + " in another copy of options").isTrue();
        }
        assertThat(held(r, "{\"max_tokens\":1,\"options\":{\"max_completion_tokens\":999999}}"))
                .as("the family at the level the rule names, not another level").isFalse();
        assertThat(held(nested, "{\"options\":{\"num_predict\":1},\"max_completion_tokens\":999999}")).isFalse();
    }

    @Test
    void theFamilyTakesTheLowestThresholdTheRuleGivesIt() throws Exception {
        HoldRule r = rule("{\"id\":\"long\",\"params_above\":{\"max_tokens\":4096,\"max_completion_tokens\":100000}}");
        assertThat(held(r, "{\"max_completion_tokens\":5000}")).isTrue();
        assertThat(held(r, "{\"max_tokens\":5000}")).isTrue();
        assertThat(held(r, "{\"max_new_tokens\":5000,\"max_tokens\":1}")).isTrue();
        assertThat(held(r, "{\"max_completion_tokens\":4096}")).isFalse();
    }

    @Test
    void onlyTheLimitsTheRuleNamesCountAsGiven() throws Exception {
        // a server that does not read max_output_tokens generates up to its default: still "missing"
        HoldRule r = rule("{\"id\":\"long\",\"params_above\":{\"max_tokens\":4096}}");
        assertThat(held(r, "{\"max_output_tokens\":100}")).isTrue();
        assertThat(held(rule("{\"id\":\"long\",\"params_above\":{\"max_tokens\":4096},\"hold_missing_limit\":false}"),
                "{\"max_output_tokens\":100}")).isFalse();
    }

    @Test
    void holdMissingLimitFalseHoldsOnlyAnExplicitValueAbove() throws Exception {
        HoldRule r = rule("{\"id\":\"long\",\"params_above\":{\"max_tokens\":4096},\"hold_missing_limit\":false}");
        assertThat(held(r, "{\"model\":\"m\"}")).isFalse();
        assertThat(held(r, "{\"max_tokens\":null}")).isFalse();
        assertThat(held(r, "{\"MAX_TOKENS\":99999}")).isTrue();
        assertThat(held(r, "{\"max_tokens\":-1}")).as("a value given that means no limit").isTrue();
        assertThat(held(r, "{\"max_tokens\":\"lots\"}")).isTrue();
    }

    @Test
    void otherParametersAreNotLimitsTheirAbsenceIsTheirLowDefault() throws Exception {
        HoldRule r = rule("{\"id\":\"many\",\"params_above\":{\"n\":1,\"top_logprobs\":0}}");
        Set<String> wanted = Set.of("n", "top_logprobs");
        assertThat(r.matches(new HoldRulesTest.Call(BOB, "m").body("{\"model\":\"m\"}", wanted))).isFalse();
        assertThat(r.matches(new HoldRulesTest.Call(BOB, "m").body("{\"N\":2}", wanted))).isTrue();
        assertThat(r.matches(new HoldRulesTest.Call(BOB, "m").body("{\"n\":0}", wanted))).isFalse();
        assertThat(r.matches(new HoldRulesTest.Call(BOB, "m").body("{\"Top-Logprobs\":\"5\"}", wanted))).isTrue();
    }
}

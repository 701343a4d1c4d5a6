package io.inferencepam.pam.guard.params;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.guard.params.ParamOutcome.Deny;
import io.inferencepam.pam.guard.params.ParamOutcome.Pass;
import io.inferencepam.pam.guard.params.ParamOutcome.Rewrite;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ParamPolicyTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode json(String s) {
        try {
            return JSON.readTree(s.replace('\'', '"'));
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    static ObjectNode body(String s) {
        return (ObjectNode) json(s);
    }

    static ParamPolicy policy(String rule) {
        return ParamPolicy.fromConf(json("{'rules':[" + rule + "]}"));
    }

    static final ParamPolicy DENY_ALL = policy("{'id':'x','max_tokens':256,'force_stream_off':true,'temperature':{'min':0.2,'max':1}}");
    static final ParamPolicy REWRITE_ALL = policy("{'id':'x','action':'rewrite','max_tokens':256,'force_stream_off':true,'temperature':{'min':0.2,'max':1}}");

    static Deny denied(ParamOutcome o) {
        assertThat(o).isInstanceOf(Deny.class);
        return (Deny) o;
    }

    static Rewrite rewritten(ParamOutcome o) {
        assertThat(o).isInstanceOf(Rewrite.class);
        return (Rewrite) o;
    }

    // ---- conf ----

    @Test
    void noConfAndNoRulesPassEverything() {
        ObjectNode b = body("{'model':'m','logprobs':true,'n':9}");
        assertThat(ParamPolicy.fromConf(null).apply(BodyShape.OPENAI_CHAT, "m", b)).isInstanceOf(Pass.class);
        assertThat(ParamPolicy.fromConf(json("{}")).apply(BodyShape.OPENAI_CHAT, "m", b)).isInstanceOf(Pass.class);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{'rules':[{'max_tokens':5}]}|required property 'id'",
            "{'rules':[{'id':'a','max_tokens':0}]}|max_tokens",
            "{'rules':[{'id':'a','max_tokens':'5'}]}|max_tokens",
            "{'rules':[{'id':'a','forbid':['logprob']}]}|forbid",
            "{'rules':[{'id':'a','action':'strip'}]}|action",
            "{'rules':[{'id':'a','temperature':{}}]}|temperature",
            "{'rules':[{'id':'a','temperature':{'min':1.5,'max':1}}]}|params.rules[0].temperature: min 1.5 is above max 1",
            "{'rules':[{'id':'a'},{'id':'a'}]}|params.rules[1].id: duplicate rule id",
            "{'rules':[{'id':'a','models':[]}]}|models",
            "{'rules':[{'id':'a','surprise':1}]}|surprise",
            "{'rule':[]}|rule"})
    void badConfIsRefusedWithItsPath(String conf, String expected) {
        assertThatThrownBy(() -> ParamPolicy.fromConf(json(conf)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(expected);
    }

    @Test
    void schemaIsAValidFragmentThatAcceptsTheDocumentedExample() throws Exception {
        var schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(JSON.readTree(ParamPolicy.SCHEMA));
        JsonNode example = json("{'rules':[{'id':'frontier','models':['gpt-4o*','llama-3-70b*'],'action':'rewrite','max_tokens':1024,"
                + "'forbid':['logprobs','logit_bias','n','best_of','echo'],'temperature':{'min':0.2,'max':1.2},'force_stream_off':true},"
                + "{'id':'default','models':['**'],'forbid':['logprobs']}]}");
        assertThat(schema.validate(example)).isEmpty();
        assertThat(ParamPolicy.fromConf(example).ruleFor("llama-3-70b-instruct").orElseThrow().id()).isEqualTo("frontier");
    }

    @Test
    void firstRuleWhoseModelsMatchApplies() {
        ParamPolicy p = ParamPolicy.fromConf(json("{'rules':[{'id':'open','models':['llama-*'],'forbid':[]},{'id':'rest','models':['**']}]}"));
        ObjectNode b = body("{'logprobs':true}");
        assertThat(p.apply(BodyShape.OPENAI_CHAT, "llama-3", b)).isInstanceOf(Pass.class);
        assertThat(denied(p.apply(BodyShape.OPENAI_CHAT, "gpt-4o", b)).ruleId()).isEqualTo("rest");
        // pam-auth's reading: * stays within one segment, so llama-*/x falls to the default rule
        assertThat(denied(p.apply(BodyShape.OPENAI_CHAT, "llama-3/evil", b)).ruleId()).isEqualTo("rest");
        assertThat(p.apply(BodyShape.OPENAI_CHAT, null, b)).isInstanceOf(Deny.class);
    }

    @Test
    void ruleWithoutForbidForbidsEveryFeature() {
        ParamPolicy p = policy("{'id':'x'}");
        for (String f : new String[] {"{'logprobs':true}", "{'echo':true}", "{'logit_bias':{'50256':-100}}", "{'n':2}", "{'best_of':3}"}) {
            assertThat(p.apply(BodyShape.OPENAI_COMPLETIONS, "m", body(f))).as(f).isInstanceOf(Deny.class);
        }
    }

    // ---- deny ----

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "OPENAI_CHAT|{'logprobs':true}|logprobs",
            "OPENAI_CHAT|{'logprobs':'yes'}|logprobs",
            "OPENAI_CHAT|{'logprobs':1}|logprobs",
            "OPENAI_CHAT|{'top_logprobs':5}|top_logprobs",
            "OPENAI_CHAT|{'top_logprobs':'5'}|top_logprobs",
            "OPENAI_CHAT|{'prompt_logprobs':0}|prompt_logprobs",
            "OPENAI_CHAT|{'return_hidden_states':true}|return_hidden_states",
            "OPENAI_CHAT|{'echo':true}|echo",
            "OPENAI_CHAT|{'logit_bias':{'1':100}}|logit_bias",
            "OPENAI_CHAT|{'allowed_token_ids':[1,2]}|allowed_token_ids",
            "OPENAI_CHAT|{'n':2}|n",
            "OPENAI_CHAT|{'n':'2'}|n",
            "OPENAI_CHAT|{'n':1.5}|n",
            "OPENAI_CHAT|{'n':'1'}|n",
            "OPENAI_CHAT|{'n':true}|n",
            "OPENAI_CHAT|{'n':-1}|n",
            "OPENAI_CHAT|{'n':1e400}|n",
            "OPENAI_CHAT|{'best_of':2}|best_of",
            "OPENAI_COMPLETIONS|{'logprobs':0}|logprobs",
            "OPENAI_COMPLETIONS|{'logprobs':false}|logprobs",
            "OPENAI_COMPLETIONS|{'echo':true}|echo",
            "OPENAI_COMPLETIONS|{'best_of':5,'n':1}|best_of",
            "OPENAI_RESPONSES|{'top_logprobs':3}|top_logprobs",
            "OPENAI_RESPONSES|{'include':['message.output_text.logprobs']}|include",
            "OPENAI_RESPONSES|{'include':['MESSAGE.OUTPUT_TEXT.LOGPROBS']}|include",
            "OPENAI_RESPONSES|{'include':[{'x':1}]}|include",
            "OPENAI_RESPONSES|{'include':'message.output_text.logprobs'}|include",
            "OLLAMA_CHAT|{'logprobs':true,'stream':false}|logprobs",
            "OLLAMA_GENERATE|{'top_logprobs':2,'stream':false}|top_logprobs",
            "TGI_GENERATE|{'inputs':'x','parameters':{'details':true}}|parameters.details",
            "TGI_GENERATE|{'inputs':'x','parameters':{'decoder_input_details':true}}|parameters.decoder_input_details",
            "TGI_GENERATE|{'inputs':'x','parameters':{'top_n_tokens':5}}|parameters.top_n_tokens",
            "TGI_GENERATE|{'inputs':'x','parameters':{'best_of':2}}|parameters.best_of"})
    void forbiddenFeatureIsDeniedNamingTheField(BodyShape shape, String b, String field) {
        Deny d = denied(policy("{'id':'no-extraction'}").apply(shape, "m", body(b)));
        assertThat(d.field()).isEqualTo(field);
        assertThat(d.ruleId()).isEqualTo("no-extraction");
        assertThat(d.message()).contains("'" + field + "'").contains("no-extraction");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "OPENAI_CHAT|{'logprobs':false,'top_logprobs':0,'n':1,'best_of':1,'echo':false,'logit_bias':{},'prompt_logprobs':null,'max_tokens':10}",
            "OPENAI_CHAT|{'n':1.0,'max_tokens':256.0,'temperature':1}",
            "OPENAI_CHAT|{'n':null,'logit_bias':null,'max_completion_tokens':1}",
            "OPENAI_COMPLETIONS|{'logprobs':null,'max_tokens':3}",
            "OPENAI_RESPONSES|{'include':['reasoning.encrypted_content'],'top_logprobs':0,'max_output_tokens':5}",
            "OLLAMA_CHAT|{'stream':false,'logprobs':false,'options':{'num_predict':128,'temperature':0.2}}",
            "TGI_GENERATE|{'inputs':'x','parameters':{'details':false,'max_new_tokens':20,'best_of':1}}",
            "OPENAI_EMBEDDINGS|{'input':'x','logprobs':true}",
            "KSERVE_INFER|{'inputs':[]}",
            "NONE|{'n':5}"})
    void harmlessValuesPass(BodyShape shape, String b) {
        assertThat(DENY_ALL.apply(shape, "m", body(b))).isInstanceOf(Pass.class);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "OPENAI_CHAT|{'max_tokens':257}|max_tokens|from 1 to 256",
            "OPENAI_CHAT|{'max_tokens':10,'max_completion_tokens':100000}|max_completion_tokens|from 1 to 256",
            "OPENAI_CHAT|{'max_tokens':0}|max_tokens|from 1 to 256",
            "OPENAI_CHAT|{'max_tokens':-1}|max_tokens|from 1 to 256",
            "OPENAI_CHAT|{'max_tokens':100.5}|max_tokens|from 1 to 256",
            "OPENAI_CHAT|{'max_tokens':1e20}|max_tokens|from 1 to 256",
            "OPENAI_CHAT|{'max_tokens':99999999999999999999999999999}|max_tokens|from 1 to 256",
            "OPENAI_CHAT|{'max_tokens':'100'}|max_tokens|JSON number",
            "OPENAI_CHAT|{'max_tokens':[100]}|max_tokens|JSON number",
            "OPENAI_RESPONSES|{'max_output_tokens':1000}|max_output_tokens|from 1 to 256",
            "OLLAMA_CHAT|{'stream':false,'options':{'num_predict':-1}}|options.num_predict|from 1 to 256",
            "OLLAMA_CHAT|{'stream':false,'options':{'num_predict':-2}}|options.num_predict|from 1 to 256",
            "OLLAMA_GENERATE|{'stream':false,'options':{'num_predict':0}}|options.num_predict|from 1 to 256",
            "TGI_GENERATE|{'parameters':{'max_new_tokens':4096}}|parameters.max_new_tokens|from 1 to 256",
            "OPENAI_CHAT|{'max_tokens':10,'temperature':0}|temperature|between 0.2 and 1",
            "OPENAI_CHAT|{'max_tokens':10,'temperature':1.01}|temperature|between 0.2 and 1",
            "OPENAI_CHAT|{'max_tokens':10,'temperature':'0.5'}|temperature|JSON number",
            "OLLAMA_CHAT|{'stream':false,'options':{'num_predict':5,'temperature':2}}|options.temperature|between",
            "OPENAI_CHAT|{'max_tokens':10,'stream':true}|stream|Streaming is not allowed",
            "OPENAI_CHAT|{'max_tokens':10,'stream':'false'}|stream|must be false",
            "OLLAMA_CHAT|{'stream':true,'options':{'num_predict':5}}|stream|Streaming is not allowed",
            "OLLAMA_CHAT|{'stream':false,'options':'num_predict=99999'}|options|JSON object",
            "TGI_GENERATE|{'parameters':[1]}|parameters|JSON object"})
    void limitsAreDeniedNamingTheField(BodyShape shape, String b, String field, String says) {
        Deny d = denied(DENY_ALL.apply(shape, "m", body(b)));
        assertThat(d.field()).isEqualTo(field);
        assertThat(d.message()).contains(says);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{'max_tokens':10,'MAX_TOKENS':100000}",
            "{'max_tokens':10,'Max_Tokens':100000}",
            "{'max_tokens':10,'maxtokens':100000}",
            "{'max_tokens':10,'max-tokens':100000}",
            "{'LOGPROBS':true,'max_tokens':10}",
            "{'logprob\u017f':true,'max_tokens':10}",
            "{'STREAM':true,'max_tokens':10}"})
    void anotherSpellingOfAControlledNameIsRefused(String b) {
        // Go's encoding/json (Ollama's OpenAI-compatible endpoints) reads these case-insensitively, last one wins
        assertThat(DENY_ALL.apply(BodyShape.OPENAI_CHAT, "m", body(b))).isInstanceOf(Deny.class);
        assertThat(REWRITE_ALL.apply(BodyShape.OPENAI_CHAT, "m", body(b))).isInstanceOf(Deny.class);
    }

    @Test
    void otherSpellingsInsideOllamaOptionsAndOfTheContainerAreRefused() {
        assertThat(denied(REWRITE_ALL.apply(BodyShape.OLLAMA_CHAT, "m",
                body("{'stream':false,'options':{'num_predict':5},'Options':{'num_predict':-1}}"))).field()).isEqualTo("options");
        assertThat(denied(REWRITE_ALL.apply(BodyShape.OLLAMA_CHAT, "m",
                body("{'stream':false,'options':{'num_predict':5,'NUM_PREDICT':-1}}"))).field()).isEqualTo("options.num_predict");
        assertThat(denied(REWRITE_ALL.apply(BodyShape.TGI_GENERATE, "m",
                body("{'parameters':{'max_new_tokens':5,'Details':true}}"))).field()).isEqualTo("parameters.details");
    }

    @Test
    void duplicateKeysAreReadAsTheModelServersReadThemLastWins() {
        // Jackson's default (and Python's json, Go's encoding/json): the last duplicate wins. The plugin
        // parses with STRICT_DUPLICATE_DETECTION anyway; this shows the policy sees what the server would.
        ObjectNode b = body("{'n':1,'n':5}");
        assertThat(denied(DENY_ALL.apply(BodyShape.OPENAI_CHAT, "m", b)).field()).isEqualTo("n");
    }

    @Test
    void fieldsOfOtherShapesAreNotConfusedWithTheRealOnes() {
        // TGI names on an OpenAI chat body: no OpenAI-compatible server reads them, the cap still goes in max_tokens
        Rewrite r = rewritten(DENY_ALL.apply(BodyShape.OPENAI_CHAT, "m", body("{'parameters':{'max_new_tokens':99999}}")));
        assertThat(r.body().get("max_tokens").intValue()).isEqualTo(256);
    }

    // ---- rewrite ----

    @Test
    void missingCapIsInsertedWhereTheShapeReadsIt() {
        assertThat(rewritten(DENY_ALL.apply(BodyShape.OPENAI_CHAT, "m", body("{'messages':[]}"))).body().get("max_tokens").intValue()).isEqualTo(256);
        assertThat(rewritten(DENY_ALL.apply(BodyShape.OPENAI_CHAT, "m", body("{'max_tokens':null}"))).body().get("max_tokens").intValue()).isEqualTo(256);
        assertThat(rewritten(DENY_ALL.apply(BodyShape.OPENAI_COMPLETIONS, "m", body("{}"))).body().get("max_tokens").intValue()).isEqualTo(256);
        assertThat(rewritten(DENY_ALL.apply(BodyShape.OPENAI_RESPONSES, "m", body("{}"))).body().get("max_output_tokens").intValue()).isEqualTo(256);
        Rewrite ollama = rewritten(DENY_ALL.apply(BodyShape.OLLAMA_CHAT, "m", body("{'options':null}")));
        assertThat(ollama.body().at("/options/num_predict").intValue()).isEqualTo(256);
        // Ollama streams unless told not to: the missing switch is set too
        assertThat(ollama.body().get("stream").booleanValue()).isFalse();
        assertThat(ollama.changes()).contains("options.num_predict set to the cap 256 (missing)",
                "stream set to false (missing, the server streams by default)");
        Rewrite tgi = rewritten(DENY_ALL.apply(BodyShape.TGI_GENERATE, "m", body("{'inputs':'x','parameters':{'temperature':0.5}}")));
        assertThat(tgi.body().get("parameters").toString()).isEqualTo("{\"temperature\":0.5,\"max_new_tokens\":256}");
    }

    @Test
    void rewriteCorrectsEverythingAtOnceAndLeavesTheCallersBodyAlone() {
        ObjectNode original = body("{'model':'m','messages':[{'role':'user','content':'hi'}],'max_tokens':5000,"
                + "'max_completion_tokens':-1,'logprobs':true,'top_logprobs':20,'n':4,'best_of':8,'echo':true,"
                + "'logit_bias':{'1':5},'temperature':0,'stream':true,'stream_options':{'include_usage':true}}");
        String before = original.toString();
        Rewrite r = rewritten(REWRITE_ALL.apply(BodyShape.OPENAI_CHAT, "m", original));
        assertThat(original.toString()).isEqualTo(before);
        assertThat(r.body().toString()).isEqualTo("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"max_tokens\":256,\"max_completion_tokens\":256,\"temperature\":0.2,\"stream\":false}");
        assertThat(r.ruleId()).isEqualTo("x");
        assertThat(r.changes()).containsExactly("logprobs removed", "top_logprobs removed", "echo removed", "logit_bias removed",
                "n removed", "best_of removed", "max_tokens set to the cap 256", "max_completion_tokens set to the cap 256",
                "temperature clamped to 0.2", "stream set to false", "stream_options removed");
        // the corrected body passes the same policy
        assertThat(REWRITE_ALL.apply(BodyShape.OPENAI_CHAT, "m", r.body())).isInstanceOf(Pass.class);
    }

    @Test
    void rewriteKeepsHarmlessIncludeEntries() {
        Rewrite r = rewritten(policy("{'id':'x','action':'rewrite'}").apply(BodyShape.OPENAI_RESPONSES, "m",
                body("{'include':['reasoning.encrypted_content','message.output_text.logprobs',7]}")));
        assertThat(r.body().get("include").toString()).isEqualTo("[\"reasoning.encrypted_content\"]");
    }

    @Test
    void rewriteNeverReinterpretsAValueOfTheWrongType() {
        assertThat(denied(REWRITE_ALL.apply(BodyShape.OPENAI_CHAT, "m", body("{'max_tokens':'5'}"))).message()).contains("JSON number");
        assertThat(denied(REWRITE_ALL.apply(BodyShape.OPENAI_CHAT, "m", body("{'max_tokens':5,'temperature':'hot'}"))).field()).isEqualTo("temperature");
        assertThat(denied(REWRITE_ALL.apply(BodyShape.OPENAI_CHAT, "m", body("{'max_tokens':5,'stream':1}"))).field()).isEqualTo("stream");
        // forbidden features are removed whatever their type
        Rewrite r = rewritten(REWRITE_ALL.apply(BodyShape.OPENAI_CHAT, "m", body("{'max_tokens':5,'n':'4','logprobs':'yes'}")));
        assertThat(r.body().has("n")).isFalse();
        assertThat(r.body().has("logprobs")).isFalse();
    }

    @Test
    void aFractionIsRoundedDownNeverUpAndNoLimitBecomesTheCap() {
        Rewrite r = rewritten(REWRITE_ALL.apply(BodyShape.OLLAMA_CHAT, "m", body("{'stream':false,'options':{'num_predict':100.5}}")));
        assertThat(r.body().at("/options/num_predict").intValue()).isEqualTo(100);
        assertThat(r.changes()).containsExactly("options.num_predict rounded down to 100");
        for (String unlimited : new String[] {"-1", "-2", "0", "0.5", "1e400", "1e20"}) {
            r = rewritten(REWRITE_ALL.apply(BodyShape.OLLAMA_CHAT, "m", body("{'stream':false,'options':{'num_predict':" + unlimited + "}}")));
            assertThat(r.body().at("/options/num_predict").intValue()).as(unlimited).isEqualTo(256);
        }
    }

    @Test
    void infiniteTemperatureIsClampedToTheNearestBound() {
        Rewrite r = rewritten(REWRITE_ALL.apply(BodyShape.OPENAI_CHAT, "m", body("{'max_tokens':5,'temperature':-1e400}")));
        assertThat(r.body().get("temperature").doubleValue()).isEqualTo(0.2);
        r = rewritten(REWRITE_ALL.apply(BodyShape.OPENAI_CHAT, "m", body("{'max_tokens':5,'temperature':1e400}")));
        assertThat(r.body().get("temperature").doubleValue()).isEqualTo(1.0);
    }

    @Test
    void forbidsStreamingTellsThePluginToRefuseStreamOnlyEndpoints() {
        assertThat(DENY_ALL.forbidsStreaming("m")).isTrue();
        assertThat(policy("{'id':'y','models':['a']}").forbidsStreaming("m")).isFalse();
    }
}

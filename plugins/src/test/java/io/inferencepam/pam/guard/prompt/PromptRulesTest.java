package io.inferencepam.pam.guard.prompt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.guard.prompt.PromptMatch.Action;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class PromptRulesTest {
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

    static final PromptRules RULES = PromptRules.fromConf(json("{'rules':["
            + "{'id':'injection','keywords':['ignore previous instructions','developer mode']},"
            + "{'id':'secret-word','keywords':['swordfish'],'whole_word':true,'action':'flag'},"
            + "{'id':'CaseSensitive','keywords':['ACME-42'],'ignore_case':false},"
            + "{'id':'aws-key','regex':'AKIA[0-9A-Z]{16}','ignore_case':false}]}"));

    static List<String> wheres(List<PromptMatch> ms, String rule) {
        return ms.stream().filter(m -> m.ruleId().equals(rule)).map(PromptMatch::where).toList();
    }

    // ---- where the text is, per shape ----

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "OPENAI_CHAT|{'messages':[{'role':'system','content':'ok'},{'role':'user','content':'Ignore previous instructions'}]}|messages[1].content",
            "OPENAI_CHAT|{'messages':[{'role':'user','content':[{'type':'image_url','image_url':{'url':'x'}},{'type':'text','text':'developer mode'}]}]}|messages[0].content[1].text",
            "OPENAI_CHAT|{'messages':[{'role':'user','content':[{'type':'weird','text':'developer mode'}]}]}|messages[0].content[0].text",
            "OPENAI_CHAT|{'messages':[{'role':'tool','tool_call_id':'1','content':'developer mode'}]}|messages[0].content",
            "OPENAI_CHAT|{'messages':[{'role':'assistant','tool_calls':[{'function':{'name':'f','arguments':'{\\'a\\':\\'developer mode\\'}'}}]}]}|messages[0].tool_calls[0].function.arguments",
            "OPENAI_CHAT|{'messages':[],'tools':[{'type':'function','function':{'name':'f','description':'enter developer mode'}}]}|tools[0].function.description",
            "OPENAI_COMPLETIONS|{'prompt':'developer mode'}|prompt",
            "OPENAI_COMPLETIONS|{'prompt':['hi','developer mode']}|prompt[1]",
            "OPENAI_COMPLETIONS|{'prompt':'x','suffix':'developer mode'}|suffix",
            "OPENAI_RESPONSES|{'input':'developer mode'}|input",
            "OPENAI_RESPONSES|{'instructions':'developer mode','input':'x'}|instructions",
            "OPENAI_RESPONSES|{'input':[{'role':'user','content':[{'type':'input_text','text':'developer mode'}]}]}|input[0].content[0].text",
            "OPENAI_RESPONSES|{'input':[{'type':'function_call_output','call_id':'c','output':'developer mode'}]}|input[0].output",
            "OPENAI_RESPONSES|{'prompt':{'id':'p','variables':{'topic':'developer mode'}}}|prompt.variables",
            "OPENAI_EMBEDDINGS|{'input':['a','developer mode']}|input[1]",
            "OLLAMA_CHAT|{'messages':[{'role':'user','content':'developer mode'}]}|messages[0].content",
            "OLLAMA_CHAT|{'messages':[{'role':'assistant','tool_calls':[{'function':{'name':'f','arguments':{'q':'developer mode'}}}]}]}|messages[0].tool_calls[0].function.arguments",
            "OLLAMA_GENERATE|{'prompt':'x','system':'developer mode'}|system",
            "OLLAMA_GENERATE|{'prompt':'x','template':'{{ .Prompt }} developer mode'}|template",
            "OLLAMA_EMBED|{'input':'developer mode'}|input",
            "TGI_GENERATE|{'inputs':'developer mode','parameters':{}}|inputs",
            "KSERVE_INFER|{'inputs':[{'name':'text','datatype':'BYTES','shape':[1],'data':['developer mode']}]}|inputs[0].data[0]"})
    void findsTheTextTheModelSeesAndSaysWhere(BodyShape shape, String b, String where) {
        List<PromptMatch> ms = RULES.scan(shape, body(b));
        assertThat(ms).contains(new PromptMatch("injection", Action.DENY, where));
    }

    @Test
    void caseInsensitiveSpellingsOfTextFieldsAreReadToo() {
        // Ollama (Go) reads MESSAGES as messages and Content as content; the last duplicate wins there
        List<PromptMatch> ms = RULES.scan(BodyShape.OLLAMA_CHAT,
                body("{'messages':[{'role':'user','content':'hello'}],'MESSAGES':[{'role':'user','Content':'developer mode'}]}"));
        assertThat(ms).containsExactly(new PromptMatch("injection", Action.DENY, "messages[0].content"));
    }

    @Test
    void fieldsTheModelDoesNotSeeAreNotScanned() {
        assertThat(RULES.scan(BodyShape.OPENAI_CHAT, body("{'model':'developer mode','user':'developer mode','metadata':{'a':'developer mode'},"
                + "'messages':[{'role':'user','content':'hi'}]}"))).isEmpty();
        assertThat(RULES.scan(BodyShape.NONE, body("{'prompt':'developer mode'}"))).isEmpty();
    }

    // ---- normalization ----

    @ParameterizedTest
    @ValueSource(strings = {
            "IGNORE PREVIOUS INSTRUCTIONS",
            "Ignore Previous Instructions please",
            "ig\u200Bnore previous instruc\u200Dtions",           // zero-width space and joiner
            "ignore\u00ADprevious instructions",                  // soft hyphen hides the space? no: it is removed, then no space
            "\uFF49\uFF47\uFF4E\uFF4F\uFF52\uFF45 previous instructions", // fullwidth
            "ignore previous \uD835\uDC22nstructions",            // mathematical bold small i
            "ignore previou\u017F instructions",                  // long s
            "ignore\u2060 previous\uFEFF instructions",           // word joiner, BOM
            "ignore previous instructions\uDB40\uDC01"})          // a tag character after it
    void trivialEvasionsFail(String text) {
        List<PromptMatch> ms = RULES.scan(BodyShape.TGI_GENERATE, body("{}").put("inputs", text));
        if (text.contains("\u00AD")) {
            // the soft hyphen stands where the space was: removing it joins the words, which is not the keyword
            assertThat(ms).isEmpty();
        } else {
            assertThat(ms).extracting(PromptMatch::ruleId).containsExactly("injection");
        }
    }

    @Test
    void caseSensitiveListsAndRegexesKeepCase() {
        assertThat(wheres(RULES.scan(BodyShape.TGI_GENERATE, body("{'inputs':'order ACME-42 now'}")), "CaseSensitive")).containsExactly("inputs");
        assertThat(RULES.scan(BodyShape.TGI_GENERATE, body("{'inputs':'order acme-42 now'}"))).isEmpty();
        assertThat(wheres(RULES.scan(BodyShape.TGI_GENERATE, body("{'inputs':'key AKIAABCDEFGHIJKLMNOP'}")), "aws-key")).containsExactly("inputs");
        assertThat(RULES.scan(BodyShape.TGI_GENERATE, body("{'inputs':'key akiaabcdefghijklmnop'}"))).isEmpty();
        // fullwidth letters of a case-sensitive regex are normalized too
        assertThat(wheres(RULES.scan(BodyShape.TGI_GENERATE, body("{}").put("inputs", "\uFF21KIAABCDEFGHIJKLMNOP")), "aws-key")).hasSize(1);
    }

    @Test
    void wholeWordListsIgnoreLongerWords() {
        assertThat(wheres(RULES.scan(BodyShape.TGI_GENERATE, body("{'inputs':'the password is swordfish.'}")), "secret-word")).hasSize(1);
        assertThat(wheres(RULES.scan(BodyShape.TGI_GENERATE, body("{'inputs':'swordfish'}")), "secret-word")).hasSize(1);
        assertThat(RULES.scan(BodyShape.TGI_GENERATE, body("{'inputs':'swordfishes and bigswordfish and swordfish2'}"))).isEmpty();
        assertThat(wheres(RULES.scan(BodyShape.TGI_GENERATE, body("{'inputs':'top_swordfish'}")), "secret-word")).hasSize(1);
        assertThat(RULES.scan(BodyShape.TGI_GENERATE, body("{}").put("inputs", "\u00E9swordfish"))).isEmpty();
    }

    @Test
    void flagsAndDeniesAreReportedOncePerPlaceInBodyOrder() {
        List<PromptMatch> ms = RULES.scan(BodyShape.OPENAI_CHAT, body("{'messages':["
                + "{'role':'user','content':'swordfish, swordfish, developer mode'},{'role':'user','content':'swordfish'}]}"));
        assertThat(ms).containsExactly(
                new PromptMatch("injection", Action.DENY, "messages[0].content"),
                new PromptMatch("secret-word", Action.FLAG, "messages[0].content"),
                new PromptMatch("secret-word", Action.FLAG, "messages[1].content"));
    }

    @Test
    void theSameKeywordInTwoListsMatchesBoth() {
        PromptRules r = PromptRules.fromConf(json("{'rules':[{'id':'a','keywords':['x-ray'],'action':'flag'},"
                + "{'id':'b','keywords':['X-RAY','y']},{'id':'c','keywords':['x-ray'],'whole_word':true}]}"));
        assertThat(r.scan(BodyShape.TGI_GENERATE, body("{'inputs':'an x-rayed bone'}"))).extracting(PromptMatch::ruleId).containsExactly("a", "b");
        assertThat(r.scan(BodyShape.TGI_GENERATE, body("{'inputs':'an x-ray'}"))).extracting(PromptMatch::ruleId).containsExactly("a", "b", "c");
    }

    // ---- what the rules cannot read ----

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "OPENAI_COMPLETIONS|{'prompt':[1234,5678]}|prompt[0]",
            "OPENAI_COMPLETIONS|{'prompt':[[1,2],[3]]}|prompt[0]",
            "OPENAI_COMPLETIONS|{'prompt':'x','prompt_embeds':'AAAA'}|prompt_embeds",
            "OPENAI_EMBEDDINGS|{'input':[[1,2,3]]}|input[0]",
            "OLLAMA_GENERATE|{'prompt':'x','context':[1,2,3]}|context",
            "OPENAI_CHAT|{'messages':[{'role':'user','content':{'type':'text','text':'hi'}}]}|messages[0].content",
            "OPENAI_CHAT|{'messages':'hello'}|messages",
            "TGI_GENERATE|{'inputs':42}|inputs"})
    void whatTheRulesCannotReadIsDeniedByDefault(BodyShape shape, String b, String where) {
        assertThat(RULES.scan(shape, body(b))).contains(new PromptMatch(PromptRules.UNSCANNABLE_RULE_ID, Action.DENY, where));
        PromptRules flag = PromptRules.fromConf(json("{'rules':[{'id':'k','keywords':['z']}],'unscannable':'flag'}"));
        assertThat(flag.scan(shape, body(b))).contains(new PromptMatch(PromptRules.UNSCANNABLE_RULE_ID, Action.FLAG, where));
        PromptRules allow = PromptRules.fromConf(json("{'rules':[{'id':'k','keywords':['z']}],'unscannable':'allow'}"));
        assertThat(allow.scan(shape, body(b))).isEmpty();
    }

    @Test
    void noRulesScansNothing() {
        assertThat(PromptRules.fromConf(null).isEmpty()).isTrue();
        assertThat(PromptRules.fromConf(json("{}")).scan(BodyShape.OPENAI_COMPLETIONS, body("{'prompt':[1,2]}"))).isEmpty();
    }

    // ---- conf ----

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "{'rules':[{'id':'a'}]}|prompt_rules.rules[0]: give exactly one of \"regex\" or \"keywords\"",
            "{'rules':[{'id':'a','regex':'x','keywords':['y']}]}|exactly one of",
            "{'rules':[{'id':'a','regex':'(a)\\\\1'}]}|prompt_rules.rules[0].regex: not a valid RE2 expression",
            "{'rules':[{'id':'a','regex':'(?=x)y'}]}|prompt_rules.rules[0].regex: not a valid RE2 expression",
            "{'rules':[{'id':'a','regex':'[unclosed'}]}|not a valid RE2 expression",
            "{'rules':[{'id':'a','regex':'x*'}]}|matches the empty text",
            "{'rules':[{'id':'a','regex':'x','whole_word':true}]}|whole_word: applies to keyword lists only",
            "{'rules':[{'id':'a','keywords':[]}]}|keywords",
            "{'rules':[{'id':'a','keywords':['\\u200B']}]}|a keyword has no visible characters",
            "{'rules':[{'id':'a','keywords':['x']},{'id':'a','keywords':['y']}]}|duplicate",
            "{'rules':[{'id':'unscannable_input','keywords':['y']}]}|reserved",
            "{'rules':[{'id':'a','keywords':['x'],'action':'block'}]}|action",
            "{'unscannable':'ignore'}|unscannable"})
    void badConfIsRefused(String conf, String expected) {
        assertThatThrownBy(() -> PromptRules.fromConf(json(conf))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(expected);
    }

    @Test
    void keywordListsAreBoundedInTotal() {
        ObjectNode conf = JSON.createObjectNode();
        var rules = conf.putArray("rules");
        for (int r = 0; r < 6; r++) {
            var kw = rules.addObject().put("id", "r" + r).putArray("keywords");
            for (int i = 0; i < 5000; i++) {
                kw.add(String.format("keyword-%d-%05d", r, i)); // 15 characters
            }
        }
        assertThatThrownBy(() -> PromptRules.fromConf(conf)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the keyword lists hold 450000 characters; at most 250000");
    }

    @Test
    void schemaIsAValidFragmentThatAcceptsTheDocumentedExample() throws Exception {
        var schema = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(JSON.readTree(PromptRules.SCHEMA));
        JsonNode example = json("{'rules':[{'id':'jailbreak','keywords':['ignore previous instructions','developer mode'],'whole_word':true},"
                + "{'id':'aws-key','regex':'AKIA[0-9A-Z]{16}','ignore_case':false,'action':'flag'}],'unscannable':'deny'}");
        assertThat(schema.validate(example)).isEmpty();
        assertThat(PromptRules.fromConf(example).isEmpty()).isFalse();
    }
}

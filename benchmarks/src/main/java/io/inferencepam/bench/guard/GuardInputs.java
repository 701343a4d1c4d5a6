package io.inferencepam.bench.guard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Deterministic inputs of the pam-guard benchmarks: a realistic chat body, rule sets, a keyword list and text. */
public final class GuardInputs {
    static final ObjectMapper JSON = new ObjectMapper();

    private static final String[] WORDS = ("the of and to in is that for it as with was on be by this are or from at an "
            + "which have not has but were all can their more one other into these some time would there what about "
            + "model service request customer invoice report quarterly revenue please summarize explain table data "
            + "function return value error because should could system question answer python code review order "
            + "deployment cluster latency budget meeting schedule contract clause liability section policy").split(" ");

    private GuardInputs() {
    }

    static String prose(SplittableRandom r, int chars) {
        StringBuilder sb = new StringBuilder(chars + 16);
        boolean capital = true;
        while (sb.length() < chars) {
            String w = WORDS[r.nextInt(WORDS.length)];
            sb.append(capital ? Character.toUpperCase(w.charAt(0)) + w.substring(1) : w);
            capital = r.nextInt(12) == 0;
            sb.append(capital ? ". " : r.nextInt(10) == 0 ? ", " : " ");
        }
        sb.setLength(chars);
        return sb.toString();
    }

    /** A chat-completions body of exactly {@code bytes} bytes: a system prompt and alternating turns. */
    public static byte[] chatBody(int bytes) {
        SplittableRandom r = new SplittableRandom(42);
        ObjectNode body = JSON.createObjectNode().put("model", "llama-3.1-70b-instruct");
        ArrayNode messages = body.putArray("messages");
        messages.addObject().put("role", "system").put("content", prose(r, 600));
        for (int i = 0; i < 6; i++) {
            messages.addObject().put("role", i % 2 == 0 ? "user" : "assistant").put("content", prose(r, 420));
        }
        body.put("max_tokens", 512).put("temperature", 0.7).put("top_p", 0.95).put("stream", false);
        String json = body.toString();
        int missing = bytes - json.getBytes(StandardCharsets.UTF_8).length;
        if (missing < 0) {
            throw new IllegalStateException("body too large: " + (bytes - missing));
        }
        ObjectNode last = (ObjectNode) messages.get(messages.size() - 1);
        last.put("content", last.get("content").asText() + prose(r, missing));
        byte[] out = body.toString().getBytes(StandardCharsets.UTF_8);
        if (out.length != bytes) {
            throw new IllegalStateException("body is " + out.length + " bytes");
        }
        return out;
    }

    static JsonNode json(String s) {
        try {
            return JSON.readTree(s.replace('\'', '"'));
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** A parameter rule as a route against extraction would have it. */
    public static JsonNode paramsConf() {
        return json("{'rules':[{'id':'frontier','models':['gpt-4o*','llama-3.1-70b*'],'action':'rewrite','max_tokens':1024,"
                + "'temperature':{'min':0.1,'max':1.5}},{'id':'default','models':['**'],'forbid':['logprobs']}]}");
    }

    /** Prompt rules as a security team would start with: two phrase lists and four secret regexes. */
    public static JsonNode promptConf() {
        return json("{'rules':["
                + "{'id':'jailbreak','keywords':['ignore previous instructions','ignore all previous instructions',"
                + "'disregard previous instructions','developer mode','do anything now','jailbreak','system prompt',"
                + "'you are no longer','pretend you are','act as an unrestricted','without any restrictions',"
                + "'bypass your guidelines','reveal your instructions','print your instructions','ignore the above',"
                + "'forget your rules','unfiltered response','no ethical','evil confidant','opposite mode']},"
                + "{'id':'codenames','keywords':['project nightingale','bluebird','falcon-9x','orion ledger','atlas-7',"
                + "'kestrel','merlin budget','hydra','polaris','zephyr'],'whole_word':true,'action':'flag'},"
                + "{'id':'aws-key','regex':'AKIA[0-9A-Z]{16}','ignore_case':false},"
                + "{'id':'private-key','regex':'-----BEGIN [A-Z ]*PRIVATE KEY-----','ignore_case':false},"
                + "{'id':'github-token','regex':'gh[pousr]_[A-Za-z0-9]{36}','ignore_case':false},"
                + "{'id':'jwt','regex':'eyJ[A-Za-z0-9_-]{10,}\\\\.[A-Za-z0-9_-]{10,}\\\\.','ignore_case':false,'action':'flag'}]}");
    }

    /** {@code n} distinct lower-case terms of 5–14 letters (pseudo-words, some two-word phrases). */
    public static List<String> terms(int n) {
        SplittableRandom r = new SplittableRandom(7);
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        while (out.size() < n) {
            StringBuilder sb = new StringBuilder();
            int len = 5 + r.nextInt(10);
            for (int i = 0; i < len; i++) {
                sb.append((char) ('a' + r.nextInt(26)));
            }
            if (r.nextInt(5) == 0) {
                sb.append(' ').append(WORDS[r.nextInt(WORDS.length)]);
            }
            out.add(sb.toString());
        }
        return new ArrayList<>(out);
    }
}

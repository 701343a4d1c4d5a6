package io.inferencepam.pam.guard.prompt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.core.KeyFold;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;

/**
 * Where each body shape carries text the model will see: the one place that knows it for the prompt
 * rules. Checked against the same API versions as {@code ShapeFields}:
 * <ul>
 *   <li>OpenAI chat (and vLLM, SGLang, TGI Messages, LiteLLM): {@code messages[].content} as a string
 *       or an array of parts whose {@code text} is read whatever the part's {@code type} (tool and
 *       function results are messages too), earlier tool calls' {@code arguments},
 *       {@code reasoning_content}/{@code reasoning}, {@code tools[].function.description}, and vLLM's
 *       request-supplied {@code chat_template};</li>
 *   <li>completions: {@code prompt} (a string or an array of strings), {@code suffix};</li>
 *   <li>responses: {@code instructions}, {@code input} (a string or items: {@code content} as a string
 *       or parts incl. {@code input_text}, function/tool {@code output}, {@code arguments}, reasoning
 *       {@code summary[].text}), and the reusable prompt's {@code prompt.variables};</li>
 *   <li>embeddings: {@code input};</li>
 *   <li>Ollama: {@code messages[].content}, {@code .thinking}, {@code .tool_calls[].function.arguments}
 *       (an object: every string in it), {@code prompt}, {@code system}, {@code template},
 *       {@code suffix}, embed {@code input};</li>
 *   <li>TGI native: {@code inputs}; KServe v2 / Triton: {@code BYTES} tensors' {@code inputs[].data}
 *       strings and the generate extension's {@code text_input}.</li>
 * </ul>
 * A member is read under every spelling a case-insensitive decoder (Go: Ollama) would accept.
 * Token-id prompts ({@code prompt: [1, 2]}, Ollama {@code context}, vLLM {@code prompt_embeds}) and
 * values of an unexpected type are reported as <em>opaque</em>: the rules cannot see them.
 */
final class ShapeTexts {

    /** Receives each text and each place that holds something the rules cannot read. */
    interface Sink {
        void text(Where where, String text);

        void opaque(Where where);
    }

    private ShapeTexts() {
    }

    /** The top-level members {@link #visit} reads in a body of {@code shape} (keys that fold to them too). */
    static Set<String> topNames(BodyShape shape) {
        Map<String, Visit> top = TOP.get(shape);
        return top == null ? Set.of() : top.keySet();
    }

    static void visit(BodyShape shape, ObjectNode body, Sink sink) {
        Map<String, Visit> top = TOP.get(shape);
        if (top != null) {
            members(body, Where.ROOT, sink, top);
        }
    }

    @FunctionalInterface
    private interface Visit {
        void at(Where where, JsonNode value, Sink sink);
    }

    /** Visits the members of {@code node} named (in any case-insensitive spelling) in {@code visits}. */
    private static void members(JsonNode node, Where where, Sink sink, Map<String, Visit> visits) {
        if (!(node instanceof ObjectNode o)) {
            return;
        }
        for (var e : o.properties()) {
            String key = e.getKey();
            Visit v = visits.get(key);
            String canonical = key;
            if (v == null) {
                for (var candidate : visits.entrySet()) {
                    if (KeyFold.same(key, candidate.getKey())) {
                        v = candidate.getValue();
                        canonical = candidate.getKey();
                        break;
                    }
                }
            }
            if (v != null && !e.getValue().isNull()) {
                v.at(where.field(canonical), e.getValue(), sink);
            }
        }
    }

    private static void each(Where where, JsonNode v, Sink sink, Visit element) {
        if (!v.isArray()) {
            sink.opaque(where);
            return;
        }
        for (int i = 0; i < v.size(); i++) {
            element.at(where.index(i), v.get(i), sink);
        }
    }

    private static void string(Where where, JsonNode v, Sink sink) {
        if (v.isTextual()) {
            sink.text(where, v.textValue());
        } else if (!v.isNull()) {
            sink.opaque(where);
        }
    }

    private static void opaqueUnlessNull(Where where, JsonNode v, Sink sink) {
        if (!v.isNull()) {
            sink.opaque(where);
        }
    }

    /** Every string anywhere under {@code v} (tool-call arguments as an object, tensors' nested data). */
    private static void strings(Where where, JsonNode v, Sink sink) {
        if (v.isTextual()) {
            sink.text(where, v.textValue());
        } else if (v.isArray()) {
            for (int i = 0; i < v.size(); i++) {
                strings(where.index(i), v.get(i), sink);
            }
        } else if (v instanceof ObjectNode o) {
            for (var e : o.properties()) {
                // keys of free-form objects are text the model sees too; they are named by position only
                sink.text(where, e.getKey());
                strings(where, e.getValue(), sink);
            }
        }
    }

    /** A completions prompt or embeddings input: a string, strings, or token ids (opaque). */
    private static void prompt(Where where, JsonNode v, Sink sink) {
        if (v.isTextual()) {
            sink.text(where, v.textValue());
            return;
        }
        if (!v.isArray()) {
            sink.opaque(where);
            return;
        }
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            if (e.isTextual()) {
                sink.text(where.index(i), e.textValue());
            } else {
                sink.opaque(where.index(i));
            }
        }
    }

    /** A string, or an array of parts whose {@code text} is read whatever their type. */
    private static void content(Where where, JsonNode v, Sink sink) {
        if (v.isTextual()) {
            sink.text(where, v.textValue());
        } else if (v.isArray()) {
            for (int i = 0; i < v.size(); i++) {
                JsonNode part = v.get(i);
                if (part.isTextual()) {
                    sink.text(where.index(i), part.textValue());
                } else if (part.isObject()) {
                    members(part, where.index(i), sink, PART);
                } else if (!part.isNull()) {
                    sink.opaque(where.index(i));
                }
            }
        } else if (!v.isNull()) {
            sink.opaque(where);
        }
    }

    private static void responsesItem(Where where, JsonNode item, Sink sink) {
        if (item.isTextual()) {
            sink.text(where, item.textValue());
            return;
        }
        members(item, where, sink, RESPONSES_ITEM);
    }

    private static void variables(Where where, JsonNode vars, Sink sink) {
        if (!(vars instanceof ObjectNode o)) {
            sink.opaque(where);
            return;
        }
        for (var e : o.properties()) {
            // variable names are the caller's: the place is named by the container only
            JsonNode v = e.getValue();
            if (v.isTextual()) {
                sink.text(where, v.textValue());
            } else if (v.isObject()) {
                members(v, where, sink, TEXT);
            }
        }
    }

    // The walk, as constants: built once, no allocation per request beyond the places visited.

    private static final Map<String, Visit> TEXT = Map.of("text", ShapeTexts::string);
    private static final Map<String, Visit> PART = Map.of("text", ShapeTexts::string, "refusal", ShapeTexts::string);
    private static final Map<String, Visit> ARGUMENTS = Map.of("arguments", ShapeTexts::strings);
    private static final Map<String, Visit> FUNCTION_ARGUMENTS = Map.of("function", (w, v, s) -> members(v, w, s, ARGUMENTS));
    private static final Visit TOOL_CALLS = (w, v, s) -> each(w, v, s, (wi, call, si) -> members(call, wi, si, FUNCTION_ARGUMENTS));
    private static final Map<String, Visit> DESCRIPTION = Map.of("description", ShapeTexts::string);
    private static final Map<String, Visit> TOOL = Map.of(
            "description", ShapeTexts::string,
            "function", (w, v, s) -> members(v, w, s, DESCRIPTION));
    private static final Visit TOOLS = (w, v, s) -> each(w, v, s, (wi, t, si) -> members(t, wi, si, TOOL));
    private static final Map<String, Visit> CHAT_MESSAGE = Map.of(
            "content", ShapeTexts::content,
            "tool_calls", TOOL_CALLS,
            "function_call", (w, v, s) -> members(v, w, s, ARGUMENTS),
            "reasoning_content", ShapeTexts::string,
            "reasoning", ShapeTexts::string);
    private static final Map<String, Visit> OLLAMA_MESSAGE = Map.of(
            "content", ShapeTexts::string,
            "thinking", ShapeTexts::string,
            "tool_calls", TOOL_CALLS);
    private static final Map<String, Visit> RESPONSES_ITEM = Map.of(
            "content", ShapeTexts::content,
            "output", ShapeTexts::content,
            "arguments", ShapeTexts::string,
            "input", ShapeTexts::string,
            "summary", (w, v, s) -> each(w, v, s, (wi, part, si) -> members(part, wi, si, TEXT)));
    private static final Map<String, Visit> PROMPT_TEMPLATE = Map.of("variables", ShapeTexts::variables);
    private static final Map<String, Visit> TENSOR = Map.of("data", ShapeTexts::strings);

    private static final Map<BodyShape, Map<String, Visit>> TOP = new EnumMap<>(Map.of(
            BodyShape.OPENAI_CHAT, Map.of(
                    "messages", (w, v, s) -> each(w, v, s, (wi, m, si) -> members(m, wi, si, CHAT_MESSAGE)),
                    "tools", TOOLS,
                    "chat_template", ShapeTexts::string),
            BodyShape.OPENAI_COMPLETIONS, Map.of(
                    "prompt", ShapeTexts::prompt,
                    "suffix", ShapeTexts::string,
                    "prompt_embeds", ShapeTexts::opaqueUnlessNull),
            BodyShape.OPENAI_RESPONSES, Map.of(
                    "instructions", ShapeTexts::string,
                    "input", (w, v, s) -> {
                        if (v.isArray()) {
                            each(w, v, s, ShapeTexts::responsesItem);
                        } else {
                            string(w, v, s);
                        }
                    },
                    "prompt", (w, v, s) -> members(v, w, s, PROMPT_TEMPLATE),
                    "tools", TOOLS),
            BodyShape.OPENAI_EMBEDDINGS, Map.of("input", ShapeTexts::prompt),
            BodyShape.OLLAMA_EMBED, Map.of("input", ShapeTexts::prompt, "prompt", ShapeTexts::prompt),
            BodyShape.OLLAMA_CHAT, Map.of(
                    "messages", (w, v, s) -> each(w, v, s, (wi, m, si) -> members(m, wi, si, OLLAMA_MESSAGE)),
                    "tools", TOOLS),
            BodyShape.OLLAMA_GENERATE, Map.of(
                    "prompt", ShapeTexts::string,
                    "system", ShapeTexts::string,
                    "template", ShapeTexts::string,
                    "suffix", ShapeTexts::string,
                    "context", (w, v, s) -> {
                        if (!(v.isArray() && v.isEmpty())) {
                            s.opaque(w);
                        }
                    }),
            BodyShape.TGI_GENERATE, Map.of("inputs", ShapeTexts::string),
            BodyShape.KSERVE_INFER, Map.of(
                    "inputs", (w, v, s) -> each(w, v, s, (wi, t, si) -> members(t, wi, si, TENSOR)),
                    "text_input", ShapeTexts::strings)));
}

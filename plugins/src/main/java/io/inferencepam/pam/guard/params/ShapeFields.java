package io.inferencepam.pam.guard.params;

import io.inferencepam.pam.catalog.BodyShape;
import io.inferencepam.pam.core.FoldedNames;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where each body shape carries the generation parameters the policy controls: the one place that
 * knows the spellings of the model servers. Checked against (names as of late 2025):
 * <ul>
 *   <li>OpenAI API reference: chat ({@code max_tokens}, {@code max_completion_tokens}, {@code logprobs}
 *       bool, {@code top_logprobs}, {@code logit_bias}, {@code n}, {@code stream}, {@code stream_options}),
 *       legacy completions ({@code logprobs} is an integer there: 0 still returns the chosen token's
 *       log-probability, {@code echo}, {@code best_of}), responses ({@code max_output_tokens},
 *       {@code top_logprobs}, {@code include: ["message.output_text.logprobs"]});</li>
 *   <li>vLLM's OpenAI server extras on chat and completions: {@code prompt_logprobs} (0 returns the
 *       prompt tokens' log-probabilities), {@code allowed_token_ids}, {@code best_of}, chat {@code echo};
 *       SGLang's {@code return_hidden_states}; TGI's Messages API uses the OpenAI chat names;</li>
 *   <li>Ollama {@code /api/chat} and {@code /api/generate}: {@code options.num_predict} (−1, −2 and 0
 *       mean no limit), {@code options.temperature}, top-level {@code stream} (default <em>true</em>),
 *       {@code logprobs} and {@code top_logprobs} (recent releases);</li>
 *   <li>TGI native {@code /generate}, {@code /generate_stream} and {@code /}: {@code parameters.max_new_tokens},
 *       {@code parameters.temperature}, {@code parameters.details}, {@code parameters.decoder_input_details},
 *       {@code parameters.top_n_tokens}, {@code parameters.best_of}; {@code stream} on {@code /}.</li>
 * </ul>
 * A spelling that only some servers of a shape read is listed anyway: refusing or removing a field a
 * server ignores costs nothing, missing one a server reads is a bypass. Embeddings, KServe tensors
 * and model-free bodies carry no controlled parameters.
 */
public final class ShapeFields {

    /** When a feature field counts as "on" (used), i.e. what a forbidding rule refuses or removes. */
    public enum Kind {
        /** A boolean: off when absent, {@code null} or {@code false} (Pydantic also reads "yes", 1, "on" as true). */
        FLAG,
        /** Off only when absent or {@code null}: any value, 0 and {@code false} included, turns it on. */
        PRESENCE,
        /** A count: off when absent, {@code null} or the number 0. */
        COUNT,
        /** A choice count: allowed when absent, {@code null} or the number 1. */
        ONE,
        /** A map: off when absent, {@code null} or {@code {}}. */
        MAP,
        /** The Responses {@code include} list: on when an entry mentions {@code logprobs} or is not a string. */
        INCLUDE
    }

    /** A field: top level ({@code container == null}) or inside one nested object ({@code options}, {@code parameters}). */
    public record Loc(String container, String name) {
        static Loc top(String name) {
            return new Loc(null, name);
        }

        /** The canonical path, e.g. {@code options.num_predict}. */
        public String path() {
            return container == null ? name : container + "." + name;
        }
    }

    /** A field that turns a {@link Feature} on. */
    public record FeatureField(Loc loc, Feature feature, Kind kind) {
    }

    /**
     * The controlled fields of one shape.
     *
     * @param maxTokens        every spelling of the output-token limit
     * @param maxTokensInsert  where a missing limit is written
     * @param stream           the stream switch, or {@code null} when the body cannot turn streaming on or off
     * @param streamsByDefault whether a body without {@code stream} streams (Ollama)
     * @param streamCompanions fields only valid while streaming, removed when streaming is turned off
     */
    public record Spec(List<Loc> maxTokens, Loc maxTokensInsert, List<Loc> temperature, Loc stream,
            boolean streamsByDefault, List<Loc> streamCompanions, List<FeatureField> features) {

        public Spec {
            maxTokens = List.copyOf(maxTokens);
            temperature = List.copyOf(temperature);
            streamCompanions = List.copyOf(streamCompanions);
            features = List.copyOf(features);
        }

        /** Whether the shape has anything the policy controls. */
        public boolean controlsNothing() {
            return maxTokens.isEmpty() && temperature.isEmpty() && stream == null && features.isEmpty();
        }

        /** Nested objects that hold controlled fields ({@code options}, {@code parameters}). */
        public Set<String> containers() {
            Set<String> out = new LinkedHashSet<>();
            for (Loc l : all()) {
                if (l.container() != null) {
                    out.add(l.container());
                }
            }
            return out;
        }

        /** Every controlled name directly inside {@code container} ({@code null}: the top level), containers included. */
        public Set<String> namesIn(String container) {
            Set<String> out = new LinkedHashSet<>();
            for (Loc l : all()) {
                if (container == null && l.container() != null) {
                    out.add(l.container());
                } else if (java.util.Objects.equals(container, l.container())) {
                    out.add(l.name());
                }
            }
            return out;
        }

        private List<Loc> all() {
            List<Loc> out = new ArrayList<>(maxTokens);
            out.addAll(temperature);
            if (stream != null) {
                out.add(stream);
            }
            out.addAll(streamCompanions);
            for (FeatureField f : features) {
                out.add(f.loc());
            }
            return out;
        }
    }

    private static final Spec NOTHING = new Spec(List.of(), null, List.of(), null, false, List.of(), List.of());

    private final Map<BodyShape, Spec> specs;
    private final Map<BodyShape, Levels> levels;

    /**
     * A shape's controlled names per level, derived from its {@link Spec} once: what the policy looks
     * up for every body key.
     *
     * @param containers the nested objects that hold controlled fields, in spec order
     * @param top        the top-level names, containers included
     * @param inner      per container, the names inside it
     */
    record Levels(List<String> containers, FoldedNames top, Map<String, FoldedNames> inner) {
        /** The names directly inside {@code container} ({@code null}: the top level), or null if it holds none. */
        FoldedNames in(String container) {
            return container == null ? top : inner.get(container);
        }
    }

    private ShapeFields(Map<BodyShape, Spec> specs) {
        this.specs = specs;
        Map<BodyShape, Levels> l = new EnumMap<>(BodyShape.class);
        specs.forEach((shape, spec) -> {
            Map<String, FoldedNames> inner = new HashMap<>();
            for (String c : spec.containers()) {
                inner.put(c, FoldedNames.of(spec.namesIn(c)));
            }
            l.put(shape, new Levels(List.copyOf(spec.containers()), FoldedNames.of(spec.namesIn(null)), Map.copyOf(inner)));
        });
        this.levels = l;
    }

    /** The controlled names of {@code shape} per level. */
    Levels levels(BodyShape shape) {
        return levels.get(shape);
    }

    /**
     * The controlled name that {@code key} is another spelling of (a case-insensitive decoder would
     * read it as that name), or {@code null} when {@code key} is exact or names nothing controlled.
     *
     * @param container {@code null} for the top level
     */
    public String otherSpellingOf(BodyShape shape, String container, String key) {
        return otherSpellingOf(levels.get(shape).in(container), key);
    }

    /** {@link #otherSpellingOf(BodyShape, String, String)} on one level's names (null: none). */
    static String otherSpellingOf(FoldedNames names, String key) {
        if (names == null) {
            return null;
        }
        String name = names.find(key);
        return name == null || name.equals(key) ? null : name;
    }

    /** The built-in knowledge (immutable). */
    public static ShapeFields builtIn() {
        Map<BodyShape, Spec> m = new EnumMap<>(BodyShape.class);
        for (BodyShape s : BodyShape.values()) {
            m.put(s, NOTHING);
        }
        Loc stream = Loc.top("stream");
        List<Loc> streamOptions = List.of(Loc.top("stream_options"));
        List<Loc> temperature = List.of(Loc.top("temperature"));

        List<FeatureField> openAiCommon = List.of(
                f("prompt_logprobs", Feature.LOGPROBS, Kind.PRESENCE),
                f("return_hidden_states", Feature.LOGPROBS, Kind.FLAG),
                f("echo", Feature.ECHO, Kind.FLAG),
                f("logit_bias", Feature.LOGIT_BIAS, Kind.MAP),
                f("allowed_token_ids", Feature.LOGIT_BIAS, Kind.PRESENCE),
                f("n", Feature.N, Kind.ONE),
                f("best_of", Feature.BEST_OF, Kind.ONE));

        List<FeatureField> chat = new ArrayList<>(List.of(
                f("logprobs", Feature.LOGPROBS, Kind.FLAG),
                f("top_logprobs", Feature.LOGPROBS, Kind.COUNT)));
        chat.addAll(openAiCommon);
        m.put(BodyShape.OPENAI_CHAT, new Spec(List.of(Loc.top("max_tokens"), Loc.top("max_completion_tokens")),
                // max_tokens, not max_completion_tokens: every OpenAI-compatible server reads it; a server
                // that refuses it (OpenAI's reasoning models) fails the call loudly instead of ignoring the cap
                Loc.top("max_tokens"), temperature, stream, false, streamOptions, chat));

        List<FeatureField> completions = new ArrayList<>(List.of(
                f("logprobs", Feature.LOGPROBS, Kind.PRESENCE)));
        completions.addAll(openAiCommon);
        m.put(BodyShape.OPENAI_COMPLETIONS, new Spec(List.of(Loc.top("max_tokens")), Loc.top("max_tokens"),
                temperature, stream, false, streamOptions, completions));

        m.put(BodyShape.OPENAI_RESPONSES, new Spec(List.of(Loc.top("max_output_tokens")), Loc.top("max_output_tokens"),
                temperature, stream, false, streamOptions, List.of(
                        f("top_logprobs", Feature.LOGPROBS, Kind.COUNT),
                        f("include", Feature.LOGPROBS, Kind.INCLUDE),
                        f("prompt_logprobs", Feature.LOGPROBS, Kind.PRESENCE))));

        Loc numPredict = new Loc("options", "num_predict");
        Spec ollama = new Spec(List.of(numPredict), numPredict, List.of(new Loc("options", "temperature")),
                stream, true, List.of(), List.of(
                        f("logprobs", Feature.LOGPROBS, Kind.FLAG),
                        f("top_logprobs", Feature.LOGPROBS, Kind.COUNT)));
        m.put(BodyShape.OLLAMA_CHAT, ollama);
        m.put(BodyShape.OLLAMA_GENERATE, ollama);

        Loc maxNew = new Loc("parameters", "max_new_tokens");
        m.put(BodyShape.TGI_GENERATE, new Spec(List.of(maxNew), maxNew, List.of(new Loc("parameters", "temperature")),
                stream, false, List.of(), List.of(
                        new FeatureField(new Loc("parameters", "details"), Feature.LOGPROBS, Kind.FLAG),
                        new FeatureField(new Loc("parameters", "decoder_input_details"), Feature.LOGPROBS, Kind.FLAG),
                        new FeatureField(new Loc("parameters", "top_n_tokens"), Feature.LOGPROBS, Kind.COUNT),
                        new FeatureField(new Loc("parameters", "best_of"), Feature.BEST_OF, Kind.ONE))));
        return new ShapeFields(m);
    }

    private static FeatureField f(String name, Feature feature, Kind kind) {
        return new FeatureField(Loc.top(name), feature, kind);
    }

    public Spec of(BodyShape shape) {
        return specs.get(shape);
    }

}

package io.inferencepam.pam.catalog;

import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One endpoint (or family of endpoints) of a model server's HTTP API, as the catalogue knows it.
 *
 * @param id      stable short name, unique within its family or pack ({@code chat-completions},
 *                {@code load-lora-adapter}); part of pam-guard's rule ids
 * @param methods upper-case HTTP methods, {@code *} for any; {@code GET} also covers {@code HEAD}
 * @param path    the path pattern
 * @param kind    what the endpoint does
 * @param shape   the body shape policies read (inference endpoints), {@link BodyShape#NONE} otherwise
 * @param model   where a request names the model
 * @param stream  how it streams, {@link StreamFormat#NONE} if it does not
 * @param reason  why a {@link Kind#DANGEROUS} endpoint is dangerous (shown to callers and in the
 *                audit), or a short description otherwise
 */
public record Endpoint(String id, Set<String> methods, PathPattern path, Kind kind, BodyShape shape,
                       ModelSource model, StreamFormat stream, String reason) {

    /** What an endpoint is for, from a privileged-access point of view. */
    public enum Kind {
        /** Runs the model on the caller's input. */
        INFERENCE,
        /** Reads metadata of one named model (readiness, card, config): no inference, no change. */
        MODEL_INFO,
        /** Names no model and changes nothing (health, version, model list). */
        MODEL_FREE,
        /**
         * Changes what the server serves or how (weights, adapters, caches, memory, profiling,
         * workers), holds data outside the per-call path (files, batches, fine-tunes, stored
         * responses), mints credentials, or discloses server internals.
         */
        DANGEROUS
    }

    public Endpoint {
        methods = methods.stream().map(m -> m.toUpperCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
    }

    /** Whether this endpoint answers {@code method} (upper-case). */
    public boolean acceptsMethod(String method) {
        return methods.contains("*") || methods.contains(method) || ("HEAD".equals(method) && methods.contains("GET"));
    }

    static Endpoint inference(String id, String method, String path, BodyShape shape, ModelSource model,
                              StreamFormat stream, String description) {
        return new Endpoint(id, Set.of(method), PathPattern.of(path), Kind.INFERENCE, shape, model, stream, description);
    }

    static Endpoint info(String id, String method, String path, ModelSource model, String description) {
        return new Endpoint(id, Set.of(method), PathPattern.of(path), Kind.MODEL_INFO, BodyShape.NONE, model,
                StreamFormat.NONE, description);
    }

    static Endpoint free(String id, String method, String path, String description) {
        return new Endpoint(id, Set.of(method), PathPattern.of(path), Kind.MODEL_FREE, BodyShape.NONE, ModelSource.NONE,
                StreamFormat.NONE, description);
    }

    static Endpoint dangerous(String id, Set<String> methods, String path, String reason) {
        return new Endpoint(id, methods, PathPattern.of(path), Kind.DANGEROUS, BodyShape.NONE, ModelSource.NONE,
                StreamFormat.NONE, reason);
    }

    static Endpoint dangerous(String id, String path, String reason) {
        return dangerous(id, Set.of("*"), path, reason);
    }
}

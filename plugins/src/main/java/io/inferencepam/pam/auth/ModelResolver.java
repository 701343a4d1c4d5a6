package io.inferencepam.pam.auth;

import io.inferencepam.pam.catalog.CanonicalPath;
import io.inferencepam.pam.catalog.KServeApi;
import io.inferencepam.pam.catalog.OllamaApi;
import io.inferencepam.runner.spi.Header;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Finds the one model a request is for, the way the route's server family carries it, and refuses
 * every request where the gateway and the model server could disagree about it (the bypasses other
 * gateways shipped: {@code ?model=} next to a body model, a body without {@code Content-Type},
 * duplicate JSON keys, encoded or case-changed paths). What each family's endpoints are and where
 * they name the model comes from the API catalogue ({@code io.inferencepam.pam.catalog}).
 */
public final class ModelResolver {
    private final ModelApi api;
    private final String fixedModel;
    private final Set<String> modelFreePaths;
    private final List<String> queryArgs;
    private final List<String> bodyFields;
    private final List<String> adapterFields;
    private final boolean ollamaManagement;
    private final int maxBodyBytes;

    /**
     * @param modelFreePaths entries {@code "METHOD /exact/path"} that carry no model (e.g. {@code "GET /v1/models"})
     * @param queryArgs      query arguments that also name a model somewhere (cross-checked)
     */
    public ModelResolver(ModelApi api, String fixedModel, Set<String> modelFreePaths, List<String> queryArgs) {
        this(api, fixedModel, modelFreePaths, queryArgs, false);
    }

    /** @param ollamaManagement allow Ollama's model-management endpoints (create, copy, pull, push, delete, blobs) */
    public ModelResolver(ModelApi api, String fixedModel, Set<String> modelFreePaths, List<String> queryArgs,
                         boolean ollamaManagement) {
        this(api, fixedModel, modelFreePaths, queryArgs, ollamaManagement, AuthConf.DEFAULT_MAX_BODY_BYTES);
    }

    /** @param maxBodyBytes largest body read for the model; a larger one is refused (413) before it is parsed */
    public ModelResolver(ModelApi api, String fixedModel, Set<String> modelFreePaths, List<String> queryArgs,
                         boolean ollamaManagement, int maxBodyBytes) {
        this.api = api;
        this.ollamaManagement = ollamaManagement;
        this.maxBodyBytes = maxBodyBytes;
        this.fixedModel = fixedModel;
        this.modelFreePaths = Set.copyOf(modelFreePaths);
        this.queryArgs = List.copyOf(queryArgs);
        this.bodyFields = api.bodyModelFields();
        this.adapterFields = api.bodyAdapterFields();
        if (api == ModelApi.FIXED && (fixedModel == null || fixedModel.isEmpty())) {
            throw new IllegalArgumentException("a fixed model is required");
        }
    }

    public boolean needsBody() {
        return api == ModelApi.OPENAI || api == ModelApi.OLLAMA;
    }

    /**
     * Whether the path decides the model or its absence on this call, so that the raw URI must be
     * checked against nginx's normalised path: always for path-model (KServe) and Ollama routes (model
     * management is recognised by path), and for a declared model-free path. On any other path of a
     * body-model or fixed-model route the model comes from the body or the route whatever the path
     * says, a path that is not model-free still needs that model, and which endpoint the model server
     * runs is pam-guard's catalogue's decision: the raw URI (one ExtraInfo question) is not needed.
     * Decided on the normalised path, so every spelling that nginx folds onto a model-free path is
     * checked.
     */
    public boolean pathDecides(String method, String path) {
        return api == ModelApi.KSERVE || api == ModelApi.OLLAMA || modelFreePaths.contains(method + " " + path);
    }

    public ModelOutcome resolve(ModelRequest r) {
        if (r.rawRequestUri().isEmpty() && pathDecides(r.method(), r.path())) {
            return refused("missing_request_uri", "The request could not be checked.");
        }
        // A raw URI known anyway (another plugin of the route asked it) is checked on every path.
        Optional<String> pathProblem = r.rawRequestUri().flatMap(raw -> CanonicalPath.problem(raw, r.path()));
        if (pathProblem.isPresent()) {
            return refused("non_canonical_path", "Request refused: " + pathProblem.get() + ".");
        }
        // Checked before model_free_paths, so declaring a management path model-free cannot open it.
        boolean blobs = false;
        if (api == ModelApi.OLLAMA && OllamaApi.isModelManagement(r.path())) {
            if (!ollamaManagement) {
                return new ModelOutcome.Refused(new Rejection(403, "invalid_request_error", "ollama_management_disabled",
                        "Model management (create, copy, pull, push, delete, blobs) is disabled on this route; "
                                + "only inference endpoints are available."));
            }
            blobs = OllamaApi.isBlobs(r.path());
        }
        boolean modelFree = blobs || modelFreePaths.contains(r.method() + " " + r.path());
        String model;
        List<String> alsoNamed = List.of();
        String where;
        if (modelFree) {
            model = null;
            where = null;
        } else {
            switch (api) {
                case FIXED -> {
                    model = fixedModel;
                    where = "route";
                }
                case KSERVE -> {
                    Optional<String> fromPath = kserveModel(r.path());
                    if (fromPath.isEmpty()) {
                        if (r.path().toLowerCase(Locale.ROOT).startsWith(KServeApi.MODELS_PREFIX)) {
                            return refused("non_canonical_path", "Request refused: the path must use lower-case /v2/models/.");
                        }
                        return refused("model_required", "This route only serves /v2/models/{model}/... requests.");
                    }
                    model = fromPath.get();
                    where = "path";
                }
                default -> {
                    ModelOutcome fromBody = api == ModelApi.OLLAMA && OllamaApi.isCopy(r.path()) ? ollamaCopy(r)
                            : api == ModelApi.OLLAMA && OllamaApi.isCreate(r.path()) ? ollamaCreate(r)
                            : bodyModel(r);
                    if (!(fromBody instanceof ModelOutcome.Resolved res)) {
                        return fromBody;
                    }
                    model = res.model();
                    alsoNamed = res.alsoNamed();
                    where = "body";
                }
            }
            Optional<String> nameProblem = JsonModelField.problemWithName(model);
            if (nameProblem.isPresent()) {
                return refused("invalid_model", nameProblem.get());
            }
            if (api == ModelApi.OLLAMA) {
                Optional<String> canonical = OllamaNames.canonical(model);
                if (canonical.isEmpty()) {
                    return refused("invalid_model", "The Ollama model name cannot be checked (use name[:tag], no @digest).");
                }
                // Entitlements and the audit see the one name Ollama resolves all its aliases to.
                model = canonical.get();
                List<String> others = new ArrayList<>();
                for (String other : alsoNamed) {
                    Optional<String> problem = JsonModelField.problemWithName(other);
                    Optional<String> c = problem.isPresent() ? Optional.empty() : OllamaNames.canonical(other);
                    if (c.isEmpty()) {
                        return refused("invalid_model", "A model name in the request cannot be checked (use name[:tag], no @digest).");
                    }
                    others.add(c.get());
                }
                alsoNamed = others;
            }
        }
        // The same model must not be named differently anywhere else the upstream might look.
        for (Header a : r.args().entries()) {
            if (queryArgs.contains(a.name()) && !sameModel(model, a.value())) {
                return refused("ambiguous_model", model == null
                        ? "Request refused: this path takes no model, but the query names one."
                        : "Request refused: the query names a different model than the " + where + ".");
            }
        }
        for (ModelRequest.NamedValue h : r.headerModels()) {
            if (!sameModel(model, h.value())) {
                return refused("ambiguous_model", model == null
                        ? "Request refused: this path takes no model, but the " + h.name() + " header names one."
                        : "Request refused: the " + h.name() + " header names a different model than the " + where + ".");
            }
        }
        return model == null ? new ModelOutcome.ModelFree() : new ModelOutcome.Resolved(model, alsoNamed);
    }

    private boolean sameModel(String model, String other) {
        if (model == null) {
            return false;
        }
        if (api == ModelApi.OLLAMA) {
            return OllamaNames.canonical(other).map(model::equals).orElse(false);
        }
        return model.equals(other);
    }

    /** Ollama {@code /api/copy}: the destination is the model; the source must be entitled too. */
    private ModelOutcome ollamaCopy(ModelRequest r) {
        ModelOutcome pre = jsonBodyPrecheck(r);
        if (pre != null) {
            return pre;
        }
        JsonModelField.Result res = JsonModelField.read(r.body().get().toByteArray(), List.of("source", "destination"));
        if (res instanceof JsonModelField.Bad bad) {
            return new ModelOutcome.Refused(bad.rejection());
        }
        String[] v = ((JsonModelField.Fields) res).values();
        if (v[0] == null || v[1] == null) {
            return refused("model_required", "The request body must name the \"source\" and \"destination\" models.");
        }
        return new ModelOutcome.Resolved(v[1], List.of(v[0]));
    }

    /**
     * Ollama {@code /api/create}: the new model ({@code model} or {@code name}) plus every model it
     * builds on ({@code from}, and each {@code FROM} line of a {@code modelfile}) must be entitled.
     */
    private ModelOutcome ollamaCreate(ModelRequest r) {
        ModelOutcome pre = jsonBodyPrecheck(r);
        if (pre != null) {
            return pre;
        }
        JsonModelField.Result res = JsonModelField.read(r.body().get().toByteArray(), List.of("model", "name", "from", "modelfile"));
        if (res instanceof JsonModelField.Bad bad) {
            return new ModelOutcome.Refused(bad.rejection());
        }
        String[] v = ((JsonModelField.Fields) res).values();
        if (v[0] != null && v[1] != null && !v[0].equals(v[1])) {
            return refused("ambiguous_model", "Request refused: the body names two different models.");
        }
        String target = v[0] != null ? v[0] : v[1];
        if (target == null) {
            return refused("model_required", "The request body must name the model to create in its \"model\" field.");
        }
        List<String> bases = new ArrayList<>();
        if (v[2] != null) {
            bases.add(v[2]);
        }
        if (v[3] != null) {
            bases.addAll(OllamaNames.modelfileFroms(v[3]));
        }
        return new ModelOutcome.Resolved(target, bases);
    }

    /** Content type, presence and size checks shared by the body readers; null when the body may be read. */
    private ModelOutcome jsonBodyPrecheck(ModelRequest r) {
        Optional<String> ct = r.contentType();
        if (ct.isEmpty() || !isJson(ct.get())) {
            return new ModelOutcome.Refused(new Rejection(415, "invalid_request_error", "unsupported_media_type",
                    "Request refused: send the JSON body with Content-Type: application/json."));
        }
        if (r.body().isEmpty()) {
            return refused("model_required", "The request body must be a JSON object naming the model.");
        }
        return tooLarge(r);
    }

    /**
     * The scan's cost grows with the body (a body of a million distinct keys costs about a second of
     * CPU time), so the body is measured before it is parsed: one call cannot hold a plugin thread
     * for long. Null when the body fits.
     */
    private ModelOutcome tooLarge(ModelRequest r) {
        if (r.body().get().length() <= maxBodyBytes) {
            return null;
        }
        return new ModelOutcome.Refused(new Rejection(413, "invalid_request_error", "request_too_large",
                "The request body is larger than this route accepts (" + maxBodyBytes
                        + " bytes); send a shorter request or fewer or smaller images."));
    }

    private ModelOutcome bodyModel(ModelRequest r) {
        Optional<String> ct = r.contentType();
        if (ct.isEmpty() || !isJson(ct.get())) {
            return new ModelOutcome.Refused(new Rejection(415, "invalid_request_error", "unsupported_media_type",
                    "Request refused: send the JSON body with Content-Type: application/json."));
        }
        if (r.body().isEmpty()) {
            return refused("model_required", "The request body must be a JSON object with a \"model\" field.");
        }
        ModelOutcome large = tooLarge(r);
        if (large != null) {
            return large;
        }
        JsonModelField.Result res = JsonModelField.read(r.body().get().toByteArray(), bodyFields, adapterFields);
        if (res instanceof JsonModelField.Bad bad) {
            return new ModelOutcome.Refused(bad.rejection());
        }
        String[] values = ((JsonModelField.Fields) res).values();
        String model = null;
        for (String v : values) {
            if (v == null) {
                continue;
            }
            if (model != null && !model.equals(v)) {
                return refused("ambiguous_model", "Request refused: the body names two different models.");
            }
            model = v;
        }
        if (model == null) {
            return refused("model_required", "The request body must name a model in its \"model\" field.");
        }
        return new ModelOutcome.Resolved(model);
    }

    /** {@code application/json}, optionally with parameters; a charset, if given, must be UTF-8. */
    public static boolean isJson(String contentType) {
        String[] parts = contentType.split(";");
        if (!parts[0].trim().equalsIgnoreCase("application/json")) {
            return false;
        }
        for (int i = 1; i < parts.length; i++) {
            String p = parts[i].trim();
            int eq = p.indexOf('=');
            if (eq > 0 && p.substring(0, eq).trim().equalsIgnoreCase("charset")) {
                String cs = p.substring(eq + 1).trim().replace("\"", "");
                if (!cs.equalsIgnoreCase("utf-8") && !cs.equalsIgnoreCase("utf8")) {
                    return false;
                }
            }
        }
        return parts.length > 0;
    }

    /** {@code /v2/models/{name}} or {@code /v2/models/{name}/...} (incl. {@code /versions/{v}/...}). */
    static Optional<String> kserveModel(String path) {
        return KServeApi.modelFromPath(path);
    }

    private static ModelOutcome refused(String code, String message) {
        return new ModelOutcome.Refused(Rejection.badRequest(code, message));
    }
}

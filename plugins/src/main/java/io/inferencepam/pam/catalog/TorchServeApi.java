package io.inferencepam.pam.catalog;

import static io.inferencepam.pam.catalog.Endpoint.dangerous;
import static io.inferencepam.pam.catalog.Endpoint.free;
import static io.inferencepam.pam.catalog.Endpoint.inference;
import static io.inferencepam.pam.catalog.Endpoint.info;

import java.util.List;
import java.util.Set;

/**
 * TorchServe: the inference API (default port 8080), the management API (8081) and metrics (8082).
 * Routes may front either port, or both when they share one address.
 *
 * <p>Checked against: TorchServe v0.12.0 (the last release, 2024-09; repository archived 2025)
 * {@code frontend/server/src/main/java/org/pytorch/serve/http/api/rest/InferenceRequestHandler},
 * {@code ManagementRequestHandler}, {@code OpenInferenceProtocolRequestHandler},
 * {@code TokenAuthorizationHandler} and the workflow handlers. Paths are split on {@code /} after
 * Netty's {@code QueryStringDecoder} percent-decodes them; segment names are compared
 * case-sensitively except {@code wfpredict}. Model registration ({@code POST /models?url=…})
 * downloads a model archive and runs its handler code: the "ShellTorch" chain
 * (CVE-2023-43654) started there. Bodies are whatever the model's handler reads (no shape the
 * policies know). Streaming: {@link StreamFormat#CHUNKED} for streaming handlers.
 */
public final class TorchServeApi {
    static final List<Endpoint> ENDPOINTS = List.of(
            inference("predictions", "POST", "/predictions/*", BodyShape.NONE, new ModelSource.PathSegment(1),
                    StreamFormat.CHUNKED, "prediction"),
            inference("predictions-version", "POST", "/predictions/*/*", BodyShape.NONE, new ModelSource.PathSegment(1),
                    StreamFormat.CHUNKED, "prediction on one version"),
            inference("explanations", "POST", "/explanations/*", BodyShape.NONE, new ModelSource.PathSegment(1),
                    StreamFormat.NONE, "explanation"),
            inference("explanations-version", "POST", "/explanations/*/*", BodyShape.NONE, new ModelSource.PathSegment(1),
                    StreamFormat.NONE, "explanation on one version"),
            inference("invoke", "POST", "/models/*/invoke", BodyShape.NONE, new ModelSource.PathSegment(1),
                    StreamFormat.CHUNKED, "SageMaker invocation"),
            inference("kserve-v1-predict", "POST", "/v1/models/*:predict", BodyShape.NONE,
                    new ModelSource.PathSegmentBefore(2, ":"), StreamFormat.NONE, "KServe v1 prediction"),
            inference("kserve-v2-infer", "POST", "/v2/models/*/infer", BodyShape.KSERVE_INFER, new ModelSource.PathSegment(2),
                    StreamFormat.NONE, "KServe v2 inference"),
            inference("workflow-predict", "POST", "/wfpredict/*", BodyShape.NONE, new ModelSource.PathSegment(1),
                    StreamFormat.NONE, "workflow prediction"),
            free("ping", "GET", "/ping", "health"),
            free("models", "GET", "/models", "list registered models (management API)"),
            info("describe", "GET", "/models/*", new ModelSource.PathSegment(1), "describe a model (management API)"),
            info("describe-version", "GET", "/models/*/*", new ModelSource.PathSegment(1),
                    "describe one model version (management API)"),
            free("kserve-v2-ready", "GET", "/v2/health/ready", "readiness"),
            free("kserve-v2-live", "GET", "/v2/health/live", "liveness"));

    public static final Pack PACK = new Pack("torchserve", 1,
            "TorchServe v0.12.0 frontend REST handlers",
            List.of(
                    dangerous("register-model", Set.of("POST"), "/models", "registers a model archive downloaded from "
                            + "a caller-given URL and runs its handler code (CVE-2023-43654)"),
                    dangerous("scale-or-set-default", Set.of("PUT"), "/models/**", "scales a model's workers or "
                            + "changes its default version"),
                    dangerous("unregister-model", Set.of("DELETE"), "/models/**", "unregisters a model"),
                    dangerous("workflows", Set.of("POST", "PUT", "DELETE"), "/workflows/**", "registers a workflow "
                            + "archive from a URL (handler code) or unregisters one"),
                    dangerous("token", "/token", "regenerates the management or inference key"),
                    dangerous("metrics", "/metrics", "Prometheus metrics; scrape inside the cluster")));

    public static final ApiFamily FAMILY = new ApiFamily("torchserve", "TorchServe v0.12.0", ENDPOINTS, PACK, false);

    private TorchServeApi() {
    }
}

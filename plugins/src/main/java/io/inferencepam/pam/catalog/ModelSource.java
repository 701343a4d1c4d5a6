package io.inferencepam.pam.catalog;

import java.util.List;

/** Where a request to an endpoint names the model it is for. */
public sealed interface ModelSource {

    /** Top-level JSON body fields, in the order the server reads them (all present must agree). */
    record BodyFields(List<String> names) implements ModelSource {
        public BodyFields {
            names = List.copyOf(names);
        }
    }

    /** One path segment (0-based, after the leading {@code /}), e.g. KServe's {@code /v2/models/{2}/infer}. */
    record PathSegment(int index) implements ModelSource {
    }

    /** The part of one path segment before {@code separator}: KServe v1's {@code /v1/models/{name}:predict}. */
    record PathSegmentBefore(int index, String separator) implements ModelSource {
    }

    /** Every segment from {@code from} on, joined with {@code /} (model ids such as {@code org/name}). */
    record PathRest(int from) implements ModelSource {
    }

    /** One model per deployment: the request does not name it (TGI native). */
    record Deployment() implements ModelSource {
    }

    /** The endpoint concerns no model. */
    record NotNamed() implements ModelSource {
    }

    ModelSource NONE = new NotNamed();
    ModelSource DEPLOYMENT = new Deployment();
    /** The OpenAI convention, shared by every OpenAI-compatible server. */
    ModelSource BODY_MODEL = new BodyFields(List.of("model"));

    /** The model this source names in {@code pathSegments}, or null when it names none there. */
    default String fromPath(String[] pathSegments) {
        if (this instanceof PathSegment ps) {
            return ps.index() < pathSegments.length && !pathSegments[ps.index()].isEmpty() ? pathSegments[ps.index()] : null;
        }
        if (this instanceof PathSegmentBefore pb && pb.index() < pathSegments.length) {
            String seg = pathSegments[pb.index()];
            int cut = seg.lastIndexOf(pb.separator());
            return cut > 0 ? seg.substring(0, cut) : null;
        }
        if (this instanceof PathRest pr && pr.from() < pathSegments.length) {
            return String.join("/", java.util.Arrays.asList(pathSegments).subList(pr.from(), pathSegments.length));
        }
        return null;
    }
}

package io.inferencepam.pam.auth;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Ollama's model names. Ollama treats {@code llama3}, {@code llama3:latest},
 * {@code library/llama3}, {@code registry.ollama.ai/library/llama3:latest} (and any upper/lower
 * case variant) as one model, so names are compared — and entitlement patterns written — in one
 * canonical form: default registry and {@code library/} namespace left out, tag always present,
 * lower case. {@code llama3} → {@code llama3:latest}; {@code jmorgan/llama3:8B} → {@code jmorgan/llama3:8b}.
 * (Ollama's endpoints live in the API catalogue, {@link io.inferencepam.pam.catalog.OllamaApi}.)
 */
final class OllamaNames {
    static final String DEFAULT_HOST = "registry.ollama.ai";
    static final String DEFAULT_NAMESPACE = "library";
    static final String DEFAULT_TAG = "latest";

    private OllamaNames() {
    }

    /**
     * The canonical form of a model name as Ollama would resolve it, or empty when the name cannot be
     * mapped to one model without asking the server (a {@code @digest}, empty parts, too many parts).
     */
    static Optional<String> canonical(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        int scheme = n.indexOf("://");
        if (scheme >= 0) {
            n = n.substring(scheme + 3); // Ollama ignores a scheme in front of the registry host
        }
        if (n.indexOf('@') >= 0) {
            return Optional.empty();
        }
        String[] parts = n.split("/", -1);
        if (parts.length > 3) {
            return Optional.empty();
        }
        for (String p : parts) {
            if (p.isEmpty()) {
                return Optional.empty();
            }
        }
        String host = parts.length == 3 ? parts[0] : DEFAULT_HOST;
        String namespace = parts.length >= 2 ? parts[parts.length - 2] : DEFAULT_NAMESPACE;
        String model = parts[parts.length - 1];
        int colon = model.indexOf(':');
        if (colon == 0 || colon == model.length() - 1) {
            return Optional.empty();
        }
        if (colon < 0) {
            model = model + ":" + DEFAULT_TAG;
        }
        if (!host.equals(DEFAULT_HOST)) {
            return Optional.of(host + "/" + namespace + "/" + model);
        }
        return Optional.of(namespace.equals(DEFAULT_NAMESPACE) ? model : namespace + "/" + model);
    }

    /**
     * An entitlement pattern in the same canonical form, so it matches the names {@link #canonical}
     * yields: default registry/namespace prefixes removed, lower case, and {@code :latest} appended
     * when the last part names no tag and has no {@code *} that could stand for one
     * ({@code llama3} → {@code llama3:latest}; {@code llama3:*} keeps every tag, {@code llama3*} becomes
     * {@code llama3*:*} because {@code *} stops at the tag's {@code :}).
     *
     * @throws IllegalArgumentException for a pattern that has no faithful canonical form
     */
    static String canonicalPattern(String pattern) {
        if (pattern.indexOf('*') < 0 && pattern.indexOf('?') < 0) {
            Optional<String> exact = canonical(pattern);
            if (exact.isPresent()) {
                return exact.get();
            }
        }
        String p = pattern.toLowerCase(Locale.ROOT);
        // the same three-part reading as canonical(): host/namespace/model, namespace/model, model
        if (p.startsWith(DEFAULT_HOST + "/") && p.indexOf('/', DEFAULT_HOST.length() + 1) >= 0) {
            p = p.substring(DEFAULT_HOST.length() + 1);
        }
        if (p.startsWith(DEFAULT_NAMESPACE + "/") && p.indexOf('/', DEFAULT_NAMESPACE.length() + 1) < 0) {
            p = p.substring(DEFAULT_NAMESPACE.length() + 1);
            if (p.startsWith("*") || p.startsWith("?")) {
                // "library/*" would become "*", which also matches every other namespace
                throw new IllegalArgumentException("cannot be restricted to the default namespace; list the models or use *");
            }
        }
        if (p.startsWith(DEFAULT_HOST + "/") || p.startsWith(DEFAULT_NAMESPACE + "/")) {
            // would never match a canonical name (they carry no default registry or namespace): a deny would deny nothing
            throw new IllegalArgumentException("write Ollama patterns without the default registry and library/ namespace");
        }
        String last = p.substring(p.lastIndexOf('/') + 1);
        if (last.indexOf(':') < 0 && last.indexOf('*') < 0) {
            p = p + ":" + DEFAULT_TAG;
        } else if (last.indexOf(':') < 0 && last.endsWith("*") && !last.endsWith("**")) {
            // a single * stops at ':' (Glob), and every canonical name has a tag: "llama3*" keeps
            // meaning "llama3… with any tag" as "llama3*:*" instead of matching nothing. Only a
            // trailing star: "*70b" read separator-blind meant "a tag ending in 70b"; "*70b:*" would
            // allow foo70b:latest, which it never did, so it stays as written (and matches no tagged
            // name; "*:*70b" says what it meant).
            p = p + ":*";
        }
        return p;
    }

    /**
     * The model names a Modelfile builds on: the argument of every line that starts with
     * {@code FROM} (any case). Over-approximates on purpose (a FROM inside a quoted block is
     * checked too): every name found must be entitled.
     */
    static List<String> modelfileFroms(String modelfile) {
        List<String> out = new ArrayList<>();
        for (String line : modelfile.split("\\R")) {
            String t = line.strip();
            if (t.length() > 4 && t.regionMatches(true, 0, "from", 0, 4) && Character.isWhitespace(t.charAt(4))) {
                String arg = t.substring(5).strip();
                if (arg.length() >= 2 && arg.startsWith("\"") && arg.endsWith("\"")) {
                    arg = arg.substring(1, arg.length() - 1);
                }
                out.add(arg);
            } else if (t.equalsIgnoreCase("from")) {
                out.add("");
            }
        }
        return out;
    }
}

package io.inferencepam.pam.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code pamctl approvals list|show|approve|deny}: the approvals API over HTTP. Two ways in:
 * <ul>
 *   <li>as a person (reviewer or requester), through the gateway's approvals route, with one's
 *       own OIDC access token: {@code --url https://gw.example.com/pam/approvals}, token in
 *       {@code $PAM_TOKEN};</li>
 *   <li>as an operator, on the runner host, with the control token ({@code $PAM_CONTROL_TOKEN})
 *       against the loopback control API (the default URL): list and show only — a decision
 *       needs a person.</li>
 * </ul>
 * Tokens come from the environment, never from the command line ({@code ps} and shell history).
 * Exit codes: 0 done, 1 refused (the API's message is printed), 3 unreachable or unavailable.
 */
@Command(name = "approvals", mixinStandardHelpOptions = true, description = "List, read and decide approvals of held calls.",
        subcommands = {ApprovalsCommand.List.class, ApprovalsCommand.Show.class, ApprovalsCommand.Approve.class,
                ApprovalsCommand.Deny.class})
final class ApprovalsCommand implements Runnable {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    abstract static class Base implements Callable<Integer> {
        @Option(names = "--url", description = "approvals API (default: $PAM_APPROVALS_URL or "
                + "http://127.0.0.1:$PAM_CONTROL_PORT/v1/approvals, port 9181)")
        String url;

        @Option(names = "--token-env", description = "environment variable holding the bearer token (default: PAM_TOKEN, "
                + "else PAM_CONTROL_TOKEN)")
        String tokenEnv;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        /** A setting from the environment, else the Java system property of the same name (as the runner reads them). */
        static String setting(String name) {
            String v = System.getenv(name);
            return v != null && !v.isBlank() ? v : System.getProperty(name);
        }

        String base() {
            if (url != null) {
                return strip(url);
            }
            String configured = setting("PAM_APPROVALS_URL");
            if (configured != null && !configured.isBlank()) {
                return strip(configured);
            }
            String port = setting("PAM_CONTROL_PORT");
            return "http://127.0.0.1:" + (port == null || port.isBlank() ? "9181" : port.trim()) + "/v1/approvals";
        }

        private static String strip(String u) {
            return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
        }

        String token() {
            String name = tokenEnv != null ? tokenEnv : setting("PAM_TOKEN") != null ? "PAM_TOKEN" : "PAM_CONTROL_TOKEN";
            String t = setting(name);
            if (t == null || t.isBlank()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "no token: set " + name);
            }
            return t.trim();
        }

        int send(String method, String path, String body) throws Exception {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base() + path)).timeout(Duration.ofSeconds(30))
                    .header("Authorization", "Bearer " + token()).header("Accept", "application/json");
            if (body != null) {
                b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
            } else {
                b.method(method, HttpRequest.BodyPublishers.noBody());
            }
            HttpResponse<String> r;
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            try {
                r = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
                        .send(b.build(), HttpResponse.BodyHandlers.ofString());
            } catch (java.io.IOException e) {
                err.println("pamctl: approvals API unreachable at " + base() + ": " + e.getClass().getSimpleName());
                err.flush();
                return 3;
            }
            JsonNode json;
            try {
                json = JSON.readTree(r.body());
            } catch (Exception e) {
                json = null;
            }
            if (r.statusCode() / 100 != 2 || json == null) {
                String code = json == null ? "" : json.path("error").path("code").asText("");
                String message = json == null ? "HTTP " + r.statusCode() : json.path("error").path("message").asText("");
                err.println("pamctl: " + r.statusCode() + (code.isEmpty() ? "" : " " + code) + ": " + message);
                err.flush();
                return r.statusCode() >= 500 ? 3 : 1;
            }
            print(out, json);
            out.flush();
            return 0;
        }

        void print(PrintWriter out, JsonNode json) throws Exception {
            out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json));
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Pending approvals you may decide (--mine: your own open ones).")
    static final class List extends Base {
        @Option(names = "--mine", description = "your own open approvals (pending or approved and unused)")
        boolean mine;

        @Option(names = "--json", description = "print the API's JSON")
        boolean json;

        @Override
        public Integer call() throws Exception {
            return send("GET", mine ? "?mine=true" : "", null);
        }

        @Override
        void print(PrintWriter out, JsonNode body) throws Exception {
            if (json) {
                super.print(out, body);
                return;
            }
            out.printf("%-58s %-9s %-16s %-24s %-20s %s%n", "ID", "STATE", "REQUESTER", "MODEL", "EXPIRES", "RULES");
            for (JsonNode a : body.path("approvals")) {
                StringBuilder rules = new StringBuilder();
                a.path("rules").forEach(x -> rules.append(rules.length() == 0 ? "" : ",").append(x.asText()));
                String who = a.path("requester").path("username").asText("");
                out.printf("%-58s %-9s %-16s %-24s %-20s %s%n", a.path("id").asText(), a.path("state").asText()
                                + (a.path("required").asInt(1) > 1 ? " " + a.path("approvals").asInt() + "/" + a.path("required").asInt() : ""),
                        who.isEmpty() ? a.path("requester").path("subject").asText() : who, a.path("model").asText(),
                        a.path("expires_at").asText(), rules);
            }
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "One approval: the request (prompt masked), its state and decisions.")
    static final class Show extends Base {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Override
        public Integer call() throws Exception {
            return send("GET", "/" + URLEncoder.encode(id, StandardCharsets.UTF_8), null);
        }
    }

    abstract static class Decide extends Base {
        @Parameters(index = "0", paramLabel = "ID")
        String id;

        @Option(names = "--reason", required = true, description = "why (shown to the requester and kept with the approval)")
        String reason;

        int decide(String verb) throws Exception {
            return send("POST", "/" + URLEncoder.encode(id, StandardCharsets.UTF_8) + "/" + verb,
                    JSON.createObjectNode().put("reason", reason).toString());
        }
    }

    @Command(name = "approve", mixinStandardHelpOptions = true, description = "Approve a held call (as a reviewer, through the gateway).")
    static final class Approve extends Decide {
        @Override
        public Integer call() throws Exception {
            return decide("approve");
        }
    }

    @Command(name = "deny", mixinStandardHelpOptions = true, description = "Deny a held call (as a reviewer, through the gateway).")
    static final class Deny extends Decide {
        @Override
        public Integer call() throws Exception {
            return decide("deny");
        }
    }
}

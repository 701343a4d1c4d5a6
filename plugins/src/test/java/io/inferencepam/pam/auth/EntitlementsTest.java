package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.core.Principal;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class EntitlementsTest {
    static EntitlementRule rule(String id, Set<String> groups, Set<String> subjects, Set<String> clients, List<String> allow, List<String> deny) {
        return new EntitlementRule(id, groups, subjects, clients, allow.stream().map(Glob::new).toList(), deny.stream().map(Glob::new).toList());
    }

    final Entitlements e = new Entitlements(List.of(
            rule("analysts", Set.of("analysts"), Set.of(), Set.of(), List.of("llama-3-*"), List.of("llama-3-405b*")),
            rule("ml", Set.of("ml-engineers"), Set.of(), Set.of(), List.of("*"), List.of()),
            rule("contractor-deny", Set.of("contractors"), Set.of(), Set.of(), List.of(), List.of("*")),
            rule("agent", Set.of(), Set.of(), Set.of("agent-7"), List.of("embed-?"), List.of()),
            rule("bob", Set.of(), Set.of("sub-bob"), Set.of(), List.of("mistral-7b"), List.of())));

    static Principal p(String sub, List<String> groups, String client) {
        return new Principal("iss", sub, "", groups, client);
    }

    @Test
    void allowByGroupGlobAndDenyWins() {
        assertThat(e.decide(p("u", List.of("analysts"), ""), "llama-3-8b")).isEqualTo(new Entitlements.Verdict(true, "analysts"));
        assertThat(e.decide(p("u", List.of("analysts"), ""), "llama-3-405b-instruct")).isEqualTo(new Entitlements.Verdict(false, "analysts"));
        assertThat(e.decide(p("u", List.of("analysts"), ""), "gpt-4")).isEqualTo(new Entitlements.Verdict(false, Entitlements.DEFAULT_DENY));
        // deny from another rule wins over allow
        assertThat(e.decide(p("u", List.of("ml-engineers", "contractors"), ""), "llama-3-8b"))
                .isEqualTo(new Entitlements.Verdict(false, "contractor-deny"));
        assertThat(e.decide(p("u", List.of("ml-engineers"), ""), "anything")).isEqualTo(new Entitlements.Verdict(true, "ml"));
    }

    @Test
    void clientsSubjectsAndDefaultDeny() {
        assertThat(e.decide(p("svc", List.of(), "agent-7"), "embed-1").allowed()).isTrue();
        assertThat(e.decide(p("svc", List.of(), "agent-7"), "embed-12").allowed()).isFalse();
        assertThat(e.decide(p("sub-bob", List.of(), ""), "mistral-7b").allowed()).isTrue();
        assertThat(e.decide(p("sub-alice", List.of(), ""), "mistral-7b")).isEqualTo(new Entitlements.Verdict(false, "default-deny"));
        assertThat(new Entitlements(List.of()).decide(p("x", List.of("analysts"), "c"), "m").allowed()).isFalse();
        // group names are exact: no prefix or case games
        assertThat(e.decide(p("u", List.of("Analysts", "/analysts", "analysts2"), ""), "llama-3-8b").allowed()).isFalse();
    }

    @Test
    void globSemantics() {
        assertThat(new Glob("llama-3-*").matches("llama-3-")).isTrue();
        assertThat(new Glob("llama-3-*").matches("llama-2-7b")).isFalse();
        assertThat(new Glob("*-instruct").matches("x-instruct")).isTrue();
        assertThat(new Glob("a*b*c").matches("aXXbYYc")).isTrue();
        assertThat(new Glob("a*b*c").matches("aXXbYY")).isFalse();
        assertThat(new Glob("exact").matches("Exact")).isFalse();
        assertThat(new Glob("*").matches("")).isTrue();
        // linear time on a hostile name
        assertThat(new Glob("*a*a*a*a*a*a*a*b").matches("a".repeat(50_000))).isFalse();
    }

    @Test
    void anAllowStarDoesNotCrossNamespacesRegistriesOrTags() {
        Principal analyst = p("u", List.of("analysts"), "");
        assertThat(e.decide(analyst, "llama-3-x/gpt-4o").allowed()).isFalse();
        assertThat(e.decide(analyst, "llama-3-8b.evil.com/library/gpt-4o").allowed()).isFalse();
        assertThat(e.decide(analyst, "llama-3-8b:latest").allowed()).isFalse();
        assertThat(e.decide(analyst, "llama-3-8b@sha256:0123").allowed()).isFalse();
        assertThat(e.decide(analyst, "llama-3-8b").allowed()).isTrue();
        // "*" alone is one segment: a Hugging Face org/name needs "**"
        assertThat(e.decide(p("u", List.of("ml-engineers"), ""), "meta-llama/Llama-3.1-8B-Instruct").allowed()).isFalse();
        Entitlements all = new Entitlements(List.of(rule("all", Set.of("g"), Set.of(), Set.of(), List.of("**", "org/*"), List.of())));
        assertThat(all.decide(p("u", List.of("g"), ""), "meta-llama/Llama-3.1-8B-Instruct").allowed()).isTrue();
        assertThat(all.decide(p("u", List.of("g"), ""), "a.example/ns/m:tag").allowed()).isTrue();
    }

    @Test
    void aDenyStarStillCoversEverySegmentSoNoUpgradeOpensADeniedModel() {
        Entitlements ents = new Entitlements(List.of(
                rule("all", Set.of("g"), Set.of(), Set.of(), List.of("**"), List.of("secret-*", "llama-3-405b*", "x?y"))));
        Principal u = p("u", List.of("g"), "");
        for (String model : List.of("secret-x", "secret-x/y", "secret-x:latest", "secret-@sha256:1",
                "llama-3-405b:latest", "llama-3-405b/gpt-4o", "x/y", "x:y")) {
            assertThat(ents.decide(u, model)).as(model).isEqualTo(new Entitlements.Verdict(false, "all"));
        }
        assertThat(ents.decide(u, "public/secret-x").allowed()).isTrue();
    }
}

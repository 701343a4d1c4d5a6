package io.inferencepam.pam.record;

import static org.assertj.core.api.Assertions.assertThat;

import io.inferencepam.pam.core.CallFacts;
import io.inferencepam.pam.record.chain.CanonicalJson;
import io.inferencepam.runner.spi.Body;
import io.inferencepam.runner.spi.ConfIdentity;
import io.inferencepam.runner.spi.Headers;
import io.inferencepam.runner.spi.HttpRequest;
import io.inferencepam.runner.spi.RequestOutcome;
import io.inferencepam.runner.spi.RequestRewrite;
import io.inferencepam.runner.spi.Vars;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * What a pending call keeps while the upstream runs (up to the 70 s sweep): the request without
 * its body, and the body only until it is hashed and cut to what the record keeps. A request body
 * may be 16 MiB; a call must not hold it through anything else.
 */
class PendingCallRetentionTest {
    @Test
    void onceItsBodyIsSettledACallNoLongerReachesTheRequestBody() throws Exception {
        Body body = Body.wrap(new byte[1 << 20]);
        HttpRequest received = new HttpRequest(1, "POST", "/v1/chat", Headers.of("api_key", "k-123456789"),
                Headers.of("authorization", "Bearer s3cr3t-token-value"), "10.0.0.7", Vars.of(Map.of()), Optional.of(body));
        RecordConf c = RecordConf.from(CanonicalJson.parse("{\"request_body\":false}"));
        ConfIdentity id = new ConfIdentity("route#chat#ext-plugin-pre-req#1", "chat", "ext-plugin-pre-req", "a".repeat(64), 1);
        PendingCall call = new PendingCall("req-1", 1_700_000_000_000L, 0);
        CallFacts f = new CallFacts();
        call.request(received, c, id, f);
        call.requestOutcome(new RequestOutcome(RequestOutcome.Kind.PASS, received, received, RequestRewrite.builder().build(),
                Optional.empty(), Optional.empty()), f);
        assertThat(reaches(call, body)).as("held until hashed (the walk sees it)").isTrue();

        call.admitted(call.admission(new RequestOutcome(RequestOutcome.Kind.PASS, received, received,
                RequestRewrite.builder().build(), Optional.empty(), Optional.empty()), f, 5));
        settleRequestBody(call);

        assertThat(reaches(call, body)).as("the request body after it was hashed").isFalse();
    }

    /** What writing the admitted entry does: hashes the body and lets it go. */
    private static void settleRequestBody(PendingCall call) throws Exception {
        Field f = PendingCall.class.getDeclaredField("requestBody");
        f.setAccessible(true);
        ((Optional<?>) f.get(call)).ifPresent(h -> ((HeldBody) h).settle());
    }

    /** Whether {@code target} is reachable from {@code root} through this project's objects, optionals, collections and maps. */
    private static boolean reaches(Object root, Object target) throws IllegalAccessException {
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Object> todo = new ArrayDeque<>();
        todo.push(root);
        while (!todo.isEmpty()) {
            Object o = todo.pop();
            if (o == target) {
                return true;
            }
            if (!seen.add(o)) {
                continue;
            }
            if (o instanceof Optional<?> opt) {
                opt.ifPresent(todo::push);
            } else if (o instanceof Iterable<?> it) {
                it.forEach(e -> pushIfPresent(todo, e));
            } else if (o instanceof Map<?, ?> m) {
                m.forEach((k, v) -> {
                    pushIfPresent(todo, k);
                    pushIfPresent(todo, v);
                });
            } else if (o instanceof Object[] a) {
                for (Object e : a) {
                    pushIfPresent(todo, e);
                }
            }
            if (!o.getClass().getName().startsWith("io.inferencepam.")) {
                continue;
            }
            for (Class<?> k = o.getClass(); k != null && k.getName().startsWith("io.inferencepam."); k = k.getSuperclass()) {
                for (Field f : k.getDeclaredFields()) {
                    if (Modifier.isStatic(f.getModifiers()) || f.getType().isPrimitive()) {
                        continue;
                    }
                    f.setAccessible(true);
                    pushIfPresent(todo, f.get(o));
                }
            }
        }
        return false;
    }

    private static void pushIfPresent(Deque<Object> todo, Object o) {
        if (o != null) {
            todo.push(o);
        }
    }
}

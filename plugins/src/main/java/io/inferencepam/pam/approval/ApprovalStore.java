package io.inferencepam.pam.approval;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import redis.clients.jedis.UnifiedJedis;

/**
 * Approvals in Redis (layout: {@code redis-schema/README.md}). Blocking: call it from the
 * runner's blocking executor or a CLI thread only.
 */
final class ApprovalStore {
    private static final byte[] ADMIT = script("approval_admit.lua");
    private static final byte[] DISCARD = script("approval_discard.lua");
    private static final byte[] DECIDE = script("approval_decide.lua");
    private static final byte[] NOTE = script("approval_note.lua");
    private static final byte[] INDEX = script("approval_index.lua");
    private static final byte[] EXPIRE_CLAIM = script("approval_expire_claim.lua");
    /** Decisions are announced here ({@code "<id> <state>"}), so the runner holding the call live resumes it. */
    static final String DECIDED_CHANNEL = "pam:approval:decided";
    /** The fingerprint index moved between our read and the script: another call of the same principal got in. */
    private static final int ADMIT_ATTEMPTS = 5;

    private final UnifiedJedis redis;
    /** This runner records approval expiries (pam-record): new approvals also go to {@link ApprovalKeys#EXPIRIES}. */
    private final boolean trackExpiries;

    ApprovalStore(UnifiedJedis redis) {
        this(redis, false);
    }

    ApprovalStore(UnifiedJedis redis, boolean trackExpiries) {
        this.redis = redis;
        this.trackExpiries = trackExpiries;
    }

    enum Mode { NAMED, FINGERPRINT, NEW }

    enum Verdict { CONSUMED, JOINED, CREATED, DENIED, USED, EXPIRED, MISMATCH, NOT_YOURS, NOT_FOUND, LIMIT }

    /**
     * A held call asking what it may do.
     *
     * @param namedId the id from {@code X-PAM-Approval} ({@link Mode#NAMED} only)
     * @param fields  the parked call, stored only if a new approval is opened
     */
    record Admit(Mode mode, String namedId, String principalKey, String principalTag, String fingerprint, String newId,
                 Duration ttl, Duration keep, int maxOpen, Map<String, byte[]> fields) {
    }

    /**
     * @param approvalsJson the reviewers' approvals ({@code [{"sub","name","at_ms","reason"}]}) of a used approval
     * @param heldRequestId the request id of the call that opened the approval ('' when unknown or not the caller's)
     */
    record Outcome(Verdict verdict, String id, String state, long expiresMillis, String approvalsJson, String heldRequestId) {
    }

    Outcome admit(Admit a) {
        for (int attempt = 1; ; attempt++) {
            String current = "";
            String existing = a.newId();
            if (a.mode() == Mode.NAMED) {
                existing = a.namedId();
            } else {
                String read = redis.get(ApprovalKeys.fingerprintIndex(a.principalTag(), a.fingerprint()));
                if (read != null && ApprovalKeys.isId(read)) {
                    current = read;
                    existing = read;
                }
            }
            List<byte[]> keys = List.of(utf8(ApprovalKeys.approval(existing)),
                    utf8(ApprovalKeys.fingerprintIndex(a.principalTag(), a.fingerprint())),
                    utf8(ApprovalKeys.open(a.principalTag())), utf8(ApprovalKeys.approval(a.newId())));
            List<byte[]> args = new ArrayList<>(9 + 2 * a.fields().size());
            args.add(utf8(switch (a.mode()) {
                case NAMED -> "named";
                case FINGERPRINT -> "fp";
                case NEW -> "new";
            }));
            args.add(utf8(current));
            args.add(utf8(a.principalKey()));
            args.add(utf8(a.fingerprint()));
            args.add(utf8(a.newId()));
            args.add(utf8(Long.toString(a.ttl().toMillis())));
            args.add(utf8(Long.toString(a.keep().toMillis())));
            args.add(utf8(Integer.toString(a.maxOpen())));
            a.fields().forEach((k, v) -> {
                args.add(utf8(k));
                args.add(v);
            });
            List<?> r = (List<?>) redis.eval(ADMIT, keys, args);
            String verdict = text(r.get(0));
            if ("STALE".equals(verdict)) {
                if (attempt >= ADMIT_ATTEMPTS) {
                    throw new IllegalStateException("approval index kept moving");
                }
                continue;
            }
            Outcome o = new Outcome(Verdict.valueOf(verdict), text(r.get(1)), text(r.get(2)), Long.parseLong(text(r.get(3))),
                    text(r.get(4)), r.size() > 5 ? text(r.get(5)) : "");
            if (o.verdict() == Verdict.CREATED || o.verdict() == Verdict.JOINED) {
                index(o, a);
            }
            return o;
        }
    }

    /**
     * Lists the approval for reviewers. It lives on another slot than the approval, so it is a
     * second write: if it fails, a just-created approval is taken back, so a hold answered 503
     * leaves nothing behind. A joined approval is indexed again (idempotent), which repairs an
     * index entry lost that way.
     */
    private void index(Outcome o, Admit a) {
        try {
            redis.eval(INDEX, List.of(utf8(ApprovalKeys.PENDING_INDEX), utf8(ApprovalKeys.EXPIRIES)),
                    List.of(utf8(o.id()), utf8(Long.toString(o.expiresMillis())), utf8(trackExpiries ? "1" : "0")));
        } catch (RuntimeException e) {
            if (o.verdict() == Verdict.CREATED) {
                try {
                    redis.eval(DISCARD, List.of(utf8(ApprovalKeys.approval(o.id())),
                            utf8(ApprovalKeys.fingerprintIndex(a.principalTag(), a.fingerprint())),
                            utf8(ApprovalKeys.open(a.principalTag()))), List.of(utf8(o.id())));
                } catch (RuntimeException ignored) {
                    // Redis is down for both: the approval is unlisted until its TTL; an identical
                    // retry joins it and lists it then.
                }
            }
            throw e;
        }
    }

    enum DecideResult { APPROVED, RECORDED, DENIED, NOT_FOUND, EXPIRED, DECIDED, SELF, TWICE, NOT_ELIGIBLE }

    /** A reviewer, as verified for the request that carries the decision. */
    record Reviewer(String principalKey, String subject, String name, java.util.List<String> groups) {
    }

    /** @param state the approval's state after the decision ({@code expired} when it had expired) */
    record Decided(DecideResult result, String state, int approvals, int required) {
    }

    /**
     * Applies one reviewer's decision ({@code approve} true) atomically: refuses self-approval, an
     * ineligible reviewer (groups checked now, against the groups the route required), a second
     * vote by the same reviewer, an expired or already decided approval.
     */
    Decided decide(String id, boolean approve, Reviewer reviewer, String reason) {
        String tag = ApprovalKeys.tagOf(id).orElseThrow();
        String groups;
        try {
            groups = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(reviewer.groups());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        List<?> r = (List<?>) redis.eval(DECIDE, List.of(utf8(ApprovalKeys.approval(id)), utf8(ApprovalKeys.open(tag))),
                List.of(utf8(approve ? "approve" : "deny"), utf8(reviewer.principalKey()), utf8(reviewer.subject()),
                        utf8(reviewer.name()), utf8(reason), utf8(groups), utf8(DECIDED_CHANNEL)));
        Decided d = new Decided(DecideResult.valueOf(text(r.get(0))), text(r.get(1)), Integer.parseInt(text(r.get(2))),
                Integer.parseInt(text(r.get(3))));
        if (d.result() == DecideResult.APPROVED || d.result() == DecideResult.DENIED || d.result() == DecideResult.EXPIRED
                || d.result() == DecideResult.DECIDED) {
            try {
                redis.zrem(ApprovalKeys.PENDING_INDEX, id); // an index on another slot; listing skips stale entries anyway
            } catch (RuntimeException ignored) {
                // the decision stands; the next listing drops the entry
            }
        }
        return d;
    }

    /** Every field of an approval (the body as bytes), empty if unknown or past its retention. */
    java.util.Optional<Map<String, byte[]>> get(String id) {
        Map<byte[], byte[]> raw = redis.hgetAll(utf8(ApprovalKeys.approval(id)));
        if (raw == null || raw.isEmpty()) {
            return java.util.Optional.empty();
        }
        Map<String, byte[]> out = new java.util.TreeMap<>();
        raw.forEach((k, v) -> out.put(text(k), v));
        return java.util.Optional.of(out);
    }

    /** Ids of pending approvals that have not expired, oldest expiry first, at most {@code limit}. */
    List<String> pendingIds(long nowMillis, int limit) {
        redis.zremrangeByScore(ApprovalKeys.PENDING_INDEX, Double.NEGATIVE_INFINITY, nowMillis);
        return redis.zrangeByScore(ApprovalKeys.PENDING_INDEX, nowMillis, Double.POSITIVE_INFINITY, 0, limit);
    }

    /** Keeps a webhook's delivery outcome with the approval ({@code notify:<webhook>}), if it still exists. */
    void note(String id, String webhook, String outcome) {
        redis.eval(NOTE, List.of(utf8(ApprovalKeys.approval(id))), List.of(utf8("notify:" + webhook), utf8(outcome)));
    }

    /** True while the approval is undecided (and known). */
    boolean isPending(String id) {
        return "pending".equals(redis.hget(ApprovalKeys.approval(id), "state"));
    }

    /** Ids of a principal's open approvals (pending, or approved and unused), unexpired. */
    List<String> openIds(String principalTag, long nowMillis) {
        return redis.zrangeByScore(ApprovalKeys.open(principalTag), nowMillis, Double.POSITIVE_INFINITY);
    }

    /**
     * Approvals whose expiry fell due, each leased to this caller for {@code lease} (see
     * {@code approval_expire_claim.lua}): no other runner claims them before the lease ends.
     *
     * @param nextMillis when the next member falls due (Redis clock), -1 when none is left
     */
    record Claim(long nowMillis, long nextMillis, List<String> ids) {
    }

    Claim claimExpiries(Duration lease, int max) {
        List<?> r = (List<?>) redis.eval(EXPIRE_CLAIM, List.of(utf8(ApprovalKeys.EXPIRIES)),
                List.of(utf8(Long.toString(lease.toMillis())), utf8(Integer.toString(max))));
        List<String> ids = new ArrayList<>();
        for (Object o : r.subList(2, r.size())) {
            ids.add(text(o));
        }
        return new Claim(Long.parseLong(text(r.get(0))), (long) Double.parseDouble(text(r.get(1))), ids);
    }

    /** The expiry of {@code id} is recorded, or will never come (used, denied): it leaves the sweep's set. */
    void expiryRecorded(String id) {
        redis.zrem(ApprovalKeys.EXPIRIES, id);
    }

    /** Drops an index entry that no longer names a pending approval. */
    void unlist(String id) {
        redis.zrem(ApprovalKeys.PENDING_INDEX, id);
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(Object o) {
        return o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(o);
    }

    private static byte[] script(String file) {
        try (InputStream in = ApprovalStore.class.getResourceAsStream("/io/inferencepam/pam/redis/lua/" + file)) {
            if (in == null) {
                throw new IllegalStateException("missing Lua script " + file);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}

package io.inferencepam.pam.approval;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;

/**
 * Approvals in Redis (layout: {@code redis-schema/README.md}). Blocking: call it from the
 * runner's blocking executor or a CLI thread only.
 */
final class ApprovalStore {
    private static final Logger LOG = LoggerFactory.getLogger(ApprovalStore.class);
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

    /**
     * Decides what a held call may do (one script, {@code approval_admit.lua}). On a runner that
     * records, a new approval's id is first listed in {@link ApprovalKeys#OPENING} (another slot),
     * so a runner that dies after the script leaves an approval the sweep finds and writes
     * {@code held} for; the id is listed up front when a new approval is likely (no approval for
     * this fingerprint yet, or {@code X-PAM-Approval: new}), otherwise only when the script asks
     * ({@code OPEN_FIRST}). A new approval stays in {@link ApprovalKeys#OPENING} until
     * {@link #heldRecorded}; an id the script did not use leaves it here.
     */
    Outcome admit(Admit a) {
        boolean opened = !trackExpiries;
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
                if (!opened && (current.isEmpty() || a.mode() == Mode.NEW)) {
                    open(a.newId());
                    opened = true;
                }
            }
            List<byte[]> keys = List.of(utf8(ApprovalKeys.approval(existing)),
                    utf8(ApprovalKeys.fingerprintIndex(a.principalTag(), a.fingerprint())),
                    utf8(ApprovalKeys.open(a.principalTag())), utf8(ApprovalKeys.approval(a.newId())));
            List<byte[]> args = new ArrayList<>(10 + 2 * a.fields().size());
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
            args.add(utf8(opened ? "1" : "0"));
            a.fields().forEach((k, v) -> {
                args.add(utf8(k));
                args.add(v);
            });
            List<?> r = (List<?>) redis.eval(ADMIT, keys, args);
            String verdict = text(r.get(0));
            if ("OPEN_FIRST".equals(verdict) && !opened) {
                open(a.newId());
                opened = true;
                continue; // at most once per call (opened is now true), and the script wrote nothing
            }
            if ("STALE".equals(verdict)) {
                if (attempt >= ADMIT_ATTEMPTS) {
                    throw new IllegalStateException("approval index kept moving");
                }
                continue;
            }
            Outcome o = new Outcome(Verdict.valueOf(verdict), text(r.get(1)), text(r.get(2)), Long.parseLong(text(r.get(3))),
                    text(r.get(4)), r.size() > 5 ? text(r.get(5)) : "");
            // an id listed in OPENING that the script did not use leaves it with the step that follows anyway
            String unused = trackExpiries && opened && o.verdict() != Verdict.CREATED ? a.newId() : "";
            if (o.verdict() == Verdict.CREATED || o.verdict() == Verdict.JOINED) {
                index(o, a, unused);
            } else if (o.verdict() == Verdict.CONSUMED && trackExpiries) {
                tidy(o.id(), unused); // used: it will not expire, the sweep can forget it
            } else if (!unused.isEmpty()) {
                tidy("", unused);
            }
            return o;
        }
    }

    /** Lists a new approval's id in {@link ApprovalKeys#OPENING} before the admit script may create it. */
    private void open(String newId) {
        redis.eval(INDEX, indexKeys(), List.of(utf8("open"), utf8(newId), utf8(Long.toString(OPENING_GRACE.toMillis()))));
    }

    /**
     * How long after it is listed in {@link ApprovalKeys#OPENING} the sweep looks at a new approval:
     * far longer than a live runner takes from the admit script to handing over {@code held}
     * (a few Redis round trips, each bounded by the client's 2 s timeout).
     */
    static final Duration OPENING_GRACE = Duration.ofMinutes(1);

    private static List<byte[]> indexKeys() {
        return List.of(utf8(ApprovalKeys.PENDING_INDEX), utf8(ApprovalKeys.EXPIRIES), utf8(ApprovalKeys.OPENING));
    }

    /**
     * The {@code held} event of a new approval is handed to the trail (or the sweep wrote it): the
     * approval leaves {@link ApprovalKeys#OPENING}. A runner that dies before this leaves it there,
     * and the sweep writes {@code held} (again, with the same event id: readers show it once).
     */
    void heldRecorded(String id) {
        if (trackExpiries) {
            settle("", id);
        }
    }

    /** The sweep found no approval for an id in {@link ApprovalKeys#OPENING}: it was never created. */
    void dropOpening(String id) {
        settle("", id);
    }

    /**
     * {@link #settle} after the admit script already decided (consumed, refused): that verdict is
     * final in Redis, so a failed clean-up must not turn it into a 503 and lose its trail step.
     * What it leaves is harmless: the sweep gives a used approval's expiry no event and drops or
     * repairs an id left in {@link ApprovalKeys#OPENING}.
     */
    private void tidy(String expiry, String opening) {
        try {
            settle(expiry, opening);
        } catch (RuntimeException e) {
            LOG.warn("approval index clean-up after the admit script failed ({}); the expiry sweep finishes it",
                    e.getClass().getSimpleName());
        }
    }

    private void settle(String expiry, String opening) {
        redis.eval(INDEX, indexKeys(), List.of(utf8("settle"), utf8(expiry), utf8(opening)));
    }

    /**
     * Lists the approval for reviewers. It lives on another slot than the approval, so it is a
     * second write: if it fails, a just-created approval is taken back, so a hold answered 503
     * leaves nothing behind (if that fails too, the approval is still in {@link ApprovalKeys#OPENING},
     * and the sweep lists it and writes its {@code held}). A joined approval is indexed again
     * (idempotent), which repairs an index entry lost that way.
     *
     * @param unused a new id the script did not use, to drop from {@link ApprovalKeys#OPENING} ('' none)
     */
    private void index(Outcome o, Admit a, String unused) {
        try {
            redis.eval(INDEX, indexKeys(), List.of(utf8("list"), utf8(o.id()), utf8(Long.toString(o.expiresMillis())),
                    utf8(trackExpiries ? "1" : "0"), utf8(unused), utf8("1")));
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
     * Approvals whose expiry fell due, and approvals whose opening runner may have died before
     * writing {@code held}, each leased to this caller for {@code lease} (see
     * {@code approval_expire_claim.lua}): no other runner claims them before the lease ends.
     *
     * @param nextMillis when the next member falls due (Redis clock), -1 when none is left
     */
    record Claim(long nowMillis, long nextMillis, List<String> expiries, List<String> opening) {
        int size() {
            return Math.max(expiries.size(), opening.size());
        }
    }

    Claim claimExpiries(Duration lease, int max) {
        List<?> r = (List<?>) redis.eval(EXPIRE_CLAIM, List.of(utf8(ApprovalKeys.EXPIRIES), utf8(ApprovalKeys.OPENING)),
                List.of(utf8(Long.toString(lease.toMillis())), utf8(Integer.toString(max))));
        int n = Integer.parseInt(text(r.get(2)));
        List<String> expiries = new ArrayList<>();
        List<String> opening = new ArrayList<>();
        for (int i = 3; i < r.size(); i++) {
            (i < 3 + n ? expiries : opening).add(text(r.get(i)));
        }
        return new Claim(Long.parseLong(text(r.get(0))), (long) Double.parseDouble(text(r.get(1))), expiries, opening);
    }

    /** The expiry of {@code id} is recorded, or will never come (used, denied): it leaves the sweep's set. */
    void expiryRecorded(String id) {
        settle(id, "");
    }

    /**
     * The sweep found an approval in {@link ApprovalKeys#OPENING} whose runner did not finish
     * opening it and wrote its {@code held}: listed for reviewers (if still pending) and for the
     * expiry sweep, as its runner would have, and it leaves {@link ApprovalKeys#OPENING} (one script).
     */
    void opened(String id, long expiresMillis, String state) {
        boolean pending = "pending".equals(state);
        boolean mayExpire = pending || "approved".equals(state);
        redis.eval(INDEX, indexKeys(), List.of(utf8("list"), utf8(id), utf8(Long.toString(expiresMillis)), utf8(mayExpire ? "1" : "0"),
                utf8(id), utf8(pending ? "1" : "0")));
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

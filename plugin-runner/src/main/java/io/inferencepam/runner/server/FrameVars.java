package io.inferencepam.runner.server;

import io.inferencepam.runner.protocol.Inbound;
import io.inferencepam.runner.spi.Header;
import java.util.Optional;
import java.util.Set;

/**
 * The vars an {@code ext-plugin-pre-req} call frame already answers. Each var asked of APISIX is
 * one ExtraInfo round trip that APISIX serves in Lua; these answers are in the frame we already
 * have, so asking would only cost both sides CPU.
 *
 * <p>What the frame carries (APISIX 3.18 {@code ext-plugin/init.lua}, conformance R1, R2, R11):
 * <ul>
 * <li>{@code headers}: {@code ngx.req.get_headers()} with its default cap of <b>100 header lines</b>,
 *     names lower-cased, every line its own entry (repeated names repeated). Past the cap the rest
 *     is silently absent (R11: {@code Authorization} as header #123 is missing from the call but
 *     readable as {@code http_authorization}). A list of fewer than 100 entries read fresh is
 *     therefore complete (but see below for a list a plugin shrank); one of 100 may have been cut,
 *     and then every header var is asked, never derived: a security decision is never taken on a
 *     list that may be incomplete.</li>
 * <li>{@code $http_<name>} (nginx ≥ 1.23): every line whose name, ASCII-lower-cased with '-' read
 *     as '_', equals {@code <name>}, values joined with ", " ("; " for {@code Cookie}) (R2:
 *     {@code http_x_multi} = "one, two"); no such line → the var is missing. Derived the same way.</li>
 * <li>the {@code host} entry carries {@code $upstream_host}, not the client's Host (R1):
 *     {@code http_host} is always asked.</li>
 * <li>{@code src_ip} is {@code $binary_remote_addr}: for 4 bytes, {@code remote_addr} is its dotted
 *     text. A 16-byte address is asked (nginx's IPv6 spelling is not rebuilt here).</li>
 * </ul>
 * Only for {@code ext-plugin-pre-req}. APISIX builds the header list from its cached header table
 * ({@code core.request.headers}), and on APISIX-Runtime {@code core.request.set_header} edits that
 * cache in place: a plugin that runs before {@code ext-plugin-pre-req} and reads, then removes a
 * header (a global rule's key-auth with {@code hide_credentials}, zipkin's {@code b3}; conformance
 * H3, H4) can leave 99 entries of a list APISIX had cut at 100. Such a list lacks every line past the
 * 100th: a header there looks absent, and a header with a line in the frame and another past the
 * 100th looks like its first line only ({@code Cookie: access_token=…} or a second {@code X-Model}
 * at line 105 would go unseen). How many lines were removed cannot be told from the list, so
 * <b>by default</b> ({@link #ASK_ABSENT}) the frame answers a header var only for a header nginx
 * accepts once ({@link #ONE_LINE_HEADERS}: {@code Authorization}, which nginx refuses twice with 400
 * before any phase, conformance N1), whose line in the frame is its whole value; every other header
 * var, present or absent, is asked. When the operator states that nothing removes request headers
 * before {@code ext-plugin-pre-req} ({@code PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ=true},
 * {@link #ABSENCE_FROM_FRAME}; the configurations that make it false are listed in
 * {@code docs/plugin-runner.md}), a complete list is the whole request: a present header is answered
 * with all its lines and an absent one "missing", without a question. In
 * {@code ext-plugin-post-req} other plugins may have changed headers, and in the response phase the
 * frame carries the upstream's headers: there every var is asked.
 */
final class FrameVars {
    /** Header lines APISIX puts in HTTPReqCall at most (conformance R11). */
    static final int HEADER_CAP = 100;
    static final String PRE_REQ = "ext-plugin-pre-req";
    /** The runner setting that lets a complete frame prove a header absent. */
    static final String NO_HEADER_REMOVAL_SETTING = "PAM_NO_HEADER_REMOVAL_BEFORE_PRE_REQ";
    /** Default: only a header nginx accepts once comes from the frame, when present; every other header var is asked. */
    static final FrameVars ASK_ABSENT = new FrameVars(false);
    /** The operator stated that nothing removes request headers before ext-plugin-pre-req. */
    static final FrameVars ABSENCE_FROM_FRAME = new FrameVars(true);
    /**
     * The header vars whose value a present line in a complete-looking frame is by default: nginx
     * answers a second line of these 400 before any phase ({@code ngx_http_process_unique_header_line};
     * conformance N1 for Authorization), so no line of theirs can be past the 100th next to one in the
     * frame. Only those the plugins ask are listed.
     */
    static final Set<String> ONE_LINE_HEADERS = Set.of("http_authorization");
    /** A var the frame proves missing: no question, no value. */
    private static final Optional<Optional<String>> MISSING = Optional.of(Optional.empty());

    private final boolean absenceFromFrame;

    private FrameVars(boolean absenceFromFrame) {
        this.absenceFromFrame = absenceFromFrame;
    }

    static FrameVars of(boolean noHeaderRemovalBeforePreReq) {
        return noHeaderRemovalBeforePreReq ? ABSENCE_FROM_FRAME : ASK_ABSENT;
    }

    boolean concludesAbsence() {
        return absenceFromFrame;
    }

    /** Whether {@code call}'s frame answers {@code var}, so that it need not be asked. */
    boolean answers(String var, Inbound.RequestCall call) {
        return answer(var, call).isPresent();
    }

    /**
     * What the frame says about {@code var}, when it says anything: its value as APISIX would answer
     * it, or (only with {@link #ABSENCE_FROM_FRAME}) that it is missing. Empty when it must be asked.
     */
    Optional<Optional<String>> answer(String var, Inbound.RequestCall call) {
        String name = asciiLower(var);
        if (name.equals("remote_addr")) {
            return call.sourceIpBytes() == 4 && !call.sourceIp().isEmpty() ? Optional.of(Optional.of(call.sourceIp())) : Optional.empty();
        }
        if (!name.startsWith("http_") || name.length() == "http_".length() || name.equals("http_host") || !headersComplete(call)) {
            return Optional.empty();
        }
        if (!absenceFromFrame && !ONE_LINE_HEADERS.contains(name)) {
            // a read-then-remove before pre-req may have left this header's lines past the 100th out of the frame
            return Optional.empty();
        }
        Optional<String> value = headerValue(name, call);
        if (value.isPresent()) {
            return Optional.of(value);
        }
        return absenceFromFrame ? MISSING : Optional.empty();
    }

    /** {@code $http_<name>} from the frame's lines; empty when no line has the name. */
    private static Optional<String> headerValue(String name, Inbound.RequestCall call) {
        String wanted = name.substring("http_".length());
        String separator = wanted.equals("cookie") ? "; " : ", ";
        StringBuilder joined = null;
        for (Header h : call.headers().entries()) {
            if (matches(h.name(), wanted)) {
                if (joined == null) {
                    joined = new StringBuilder(h.value());
                } else {
                    joined.append(separator).append(h.value());
                }
            }
        }
        return joined == null ? Optional.empty() : Optional.of(joined.toString());
    }

    /**
     * Fewer entries than the cap (counting the frame's own vector, nameless entries included), and
     * every entry a named one with a value: anything else may not be the whole request.
     */
    static boolean headersComplete(Inbound.RequestCall call) {
        if (call.headerEntries() >= HEADER_CAP || call.headers().size() != call.headerEntries()) {
            return false;
        }
        for (Header h : call.headers().entries()) {
            if (h.value() == null) {
                return false;
            }
        }
        return true;
    }

    /** nginx's comparison for {@code $http_*}: ASCII letters folded to lower case, '-' read as '_'. */
    private static boolean matches(String header, String wanted) {
        if (header.length() != wanted.length()) {
            return false;
        }
        for (int i = 0; i < header.length(); i++) {
            char c = header.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                c = (char) (c | 0x20);
            } else if (c == '-') {
                c = '_';
            }
            if (c != wanted.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** lua-nginx-module lower-cases a var name before looking it up (ASCII only). */
    private static String asciiLower(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                StringBuilder b = new StringBuilder(s.length());
                for (int j = 0; j < s.length(); j++) {
                    char d = s.charAt(j);
                    b.append(d >= 'A' && d <= 'Z' ? (char) (d | 0x20) : d);
                }
                return b.toString();
            }
        }
        return s;
    }
}

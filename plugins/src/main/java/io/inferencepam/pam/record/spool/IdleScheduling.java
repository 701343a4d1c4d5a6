package io.inferencepam.pam.record.spool;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * Puts the calling thread under Linux's {@code SCHED_IDLE} policy: it then runs only in the gaps
 * that normal threads leave, and a request thread that wakes up preempts it at once. A nice value
 * only skews CPU shares: measured through the protocol at 1,000 calls/s, the audit threads at
 * nice 4 or nice 19 still added 25–45% to the p99 of a recorded route, under {@code SCHED_IDLE}
 * about 4% (docs/plugins/pam-record.md, Performance).
 *
 * <p>Java has no call for it, so util-linux {@code chrt} sets it for the thread's own id, which
 * the thread reads from {@code /proc/thread-self}; the policy is then read back from
 * {@code /proc/thread-self/stat} rather than trusted. Needs no privilege: any thread may lower its
 * own scheduling. Without privilege it is one-way: an unprivileged thread cannot leave
 * {@code SCHED_IDLE} again ({@code RLIMIT_NICE}), so only threads whose work can wait use it (the
 * audit threads, which have backpressure and the overflow spool behind them). With CAP_SYS_NICE
 * (root, as in most containers) {@link #setPolicy} moves a starved one back at once.
 */
final class IdleScheduling {
    /** {@code SCHED_IDLE} in {@code <linux/sched.h>}. */
    static final int SCHED_IDLE = 5;
    private static final Path SELF = Path.of("/proc/thread-self");

    /** What happened, and why not if it did not. */
    record Outcome(boolean applied, String detail) {
    }

    private IdleScheduling() {
    }

    static Outcome applyToCurrentThread() {
        OptionalInt before = policyOfCurrentThread();
        if (before.isEmpty()) {
            return new Outcome(false, "not Linux, or /proc is not mounted");
        }
        if (before.getAsInt() == SCHED_IDLE) {
            return new Outcome(true, "already");
        }
        String tid;
        try {
            tid = ownThreadId(Files.readSymbolicLink(SELF).toString(), ProcessHandle.current().pid());
        } catch (IOException | UnsupportedOperationException e) {
            return new Outcome(false, "own thread id unreadable");
        }
        if (tid == null) {
            // chrt takes ids in this process's pid namespace: with a /proc of another namespace,
            // the id read there could name some other thread, which would then be put under
            // SCHED_IDLE for good
            return new Outcome(false, "/proc is not of this process's pid namespace");
        }
        Outcome o = chrt("--idle", tid);
        if (!o.applied()) {
            return o;
        }
        OptionalInt after = policyOfCurrentThread();
        return after.isPresent() && after.getAsInt() == SCHED_IDLE
                ? new Outcome(true, "applied")
                : new Outcome(false, "chrt succeeded but the policy is " + after);
    }

    /**
     * Moves thread {@code tid} of this process (from {@link #ownThreadIdOfCurrentThread}) to
     * {@code SCHED_OTHER} (true) or back to {@code SCHED_IDLE} (false); true if its policy then
     * reads so. Leaving {@code SCHED_IDLE} needs CAP_SYS_NICE (root, as in most containers) or an
     * {@code RLIMIT_NICE} that allows it; without, this is refused and false. Starts a process:
     * never on a request thread.
     */
    static boolean setPolicy(String tid, boolean normal) {
        if (!chrt(normal ? "--other" : "--idle", tid).applied()) {
            return false;
        }
        OptionalInt after = policyOf(Path.of("/proc/self/task", tid, "stat"));
        return after.isPresent() && (after.getAsInt() == SCHED_IDLE) != normal;
    }

    private static Outcome chrt(String policy, String tid) {
        try {
            Process chrt = new ProcessBuilder("chrt", policy, "-p", "0", tid)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!chrt.waitFor(5, TimeUnit.SECONDS)) {
                chrt.destroyForcibly();
                return new Outcome(false, "chrt did not finish");
            }
            if (chrt.exitValue() != 0) {
                return new Outcome(false, "chrt exited with " + chrt.exitValue() + " (not permitted, or a seccomp profile forbids sched_setscheduler)");
            }
            return new Outcome(true, "chrt " + policy);
        } catch (IOException e) {
            return new Outcome(false, "chrt (util-linux) could not be started: " + e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(false, "interrupted");
        }
    }

    /** The calling thread's id in this process's pid namespace, if /proc is of that namespace. */
    static java.util.Optional<String> ownThreadIdOfCurrentThread() {
        try {
            return java.util.Optional.ofNullable(ownThreadId(Files.readSymbolicLink(SELF).toString(), ProcessHandle.current().pid()));
        } catch (IOException | UnsupportedOperationException e) {
            return java.util.Optional.empty();
        }
    }

    /**
     * The thread id from the target of {@code /proc/thread-self} ({@code "<pid>/task/<tid>"}), or
     * null unless it is well formed and its pid is {@code ownPid} (the pid as this process sees it).
     */
    static String ownThreadId(String link, long ownPid) {
        String[] parts = link.split("/");
        if (parts.length != 3 || !parts[1].equals("task") || !parts[0].equals(Long.toString(ownPid))
                || parts[2].isEmpty() || !parts[2].chars().allMatch(Character::isDigit)) {
            return null;
        }
        return parts[2];
    }

    /** The calling thread's {@code /proc/self/task/<tid>/schedstat}, which any thread of the process can read. */
    static java.util.Optional<Path> schedstatOfCurrentThread() {
        return ownThreadIdOfCurrentThread().map(tid -> Path.of("/proc/self/task", tid, "schedstat"));
    }

    /**
     * How long the thread has been runnable but waiting for a CPU, in ns (the second field of
     * {@code schedstat}): it grows only while the thread wants to run and cannot, so it tells a
     * starved thread from one that sleeps or waits on I/O.
     */
    static java.util.OptionalLong runDelayNanos(Path schedstat) {
        try {
            String[] f = Files.readString(schedstat, StandardCharsets.US_ASCII).trim().split(" ");
            return java.util.OptionalLong.of(Long.parseLong(f[1]));
        } catch (IOException | RuntimeException e) {
            return java.util.OptionalLong.empty();
        }
    }

    /** The calling thread's scheduling policy (field 41 of {@code /proc/thread-self/stat}), if readable. */
    static OptionalInt policyOfCurrentThread() {
        return policyOf(SELF.resolve("stat"));
    }

    /** The scheduling policy in a thread's {@code stat} file, if readable. */
    static OptionalInt policyOf(Path statFile) {
        try {
            String stat = Files.readString(statFile, StandardCharsets.US_ASCII);
            // after the command name, which is in parentheses and may itself hold spaces and ')'
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            return OptionalInt.of(Integer.parseInt(fields[41 - 3]));
        } catch (IOException | RuntimeException e) {
            return OptionalInt.empty();
        }
    }
}

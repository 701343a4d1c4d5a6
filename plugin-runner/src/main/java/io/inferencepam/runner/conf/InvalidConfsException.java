package io.inferencepam.runner.conf;

import java.util.List;

/** PrepareConf failed: the route must fail closed. */
public final class InvalidConfsException extends Exception {
    private final List<ConfProblem> problems;

    public InvalidConfsException(List<ConfProblem> problems) {
        super(problems.isEmpty() ? "invalid conf" : problems.get(0).toString(), null, false, false);
        this.problems = List.copyOf(problems);
    }

    public List<ConfProblem> problems() {
        return problems;
    }
}

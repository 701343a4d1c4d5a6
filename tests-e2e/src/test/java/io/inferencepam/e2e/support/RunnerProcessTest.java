package io.inferencepam.e2e.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The test support's runner launch: a runner that does not come up fails the test and does not outlive it. */
class RunnerProcessTest {

    /**
     * A socket wait of zero has always passed when the launch first looks (a JVM takes far longer
     * to open its socket), so this is the 30 s timeout of a loaded host, without its wait. Before,
     * the runner was left running (two such runners were found alive an hour later).
     */
    @Test
    void aRunnerWhoseSocketDoesNotAppearInTimeIsKilledAndItsOutputIsInTheFailure() throws Exception {
        IllegalStateException e = catchThrowableOfType(() -> RunnerProcess.start(Map.of(), Duration.ZERO),
                IllegalStateException.class);
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).startsWith("runner socket did not appear within 0 s");
        Matcher pid = Pattern.compile("pid (\\d+)").matcher(e.getMessage());
        assertThat(pid.find()).as("the message names the runner's pid: %s", e.getMessage()).isTrue();
        assertThat(ProcessHandle.of(Long.parseLong(pid.group(1))).filter(ProcessHandle::isAlive))
                .as("the runner is gone").isEmpty();
        Matcher log = Pattern.compile("Its output \\((.+)\\):\n").matcher(e.getMessage());
        assertThat(log.find()).isTrue();
        assertThat(e.getMessage()).endsWith(":\n" + Files.readString(Path.of(log.group(1))));
    }
}

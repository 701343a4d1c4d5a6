package io.inferencepam.pam.cli;

import io.inferencepam.pam.auth.CredentialCipher;
import io.inferencepam.pam.auth.CredentialStore;
import io.inferencepam.pam.redis.PamRedis;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code pamctl credential set|rotate|show-versions NAME} and {@code migrate NAME…|--all}: manage
 * upstream credentials directly in the credential store. The secret is read from standard input
 * (first line), never from the command line, where {@code ps} and shell history would show it.
 */
final class CredentialCommand {
    private CredentialCommand() {
    }

    @Command(name = "credential", mixinStandardHelpOptions = true, description = "Upstream credentials held by the gateway.",
            subcommands = {Set.class, Rotate.class, ShowVersions.class, Migrate.class})
    static final class Credential implements Runnable {
        @Override
        public void run() {
            new CommandLine(this).usage(System.out);
        }
    }

    /** Options shared by the credential commands. */
    abstract static class Options implements Callable<Integer> {
        @Option(names = "--redis-url", description = "Redis URL (default: $PAM_REDIS_URL or " + PamRedis.DEFAULT_URL + ")")
        String redisUrl;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        PamRedis redis() {
            String url = redisUrl != null ? redisUrl : Optional.ofNullable(System.getenv(PamRedis.SETTING)).orElse(PamRedis.DEFAULT_URL);
            return new PamRedis(url);
        }

        CredentialCipher cipher() {
            CredentialCipher.Result r = CredentialCipher.fromSetting(Optional.ofNullable(System.getenv(CredentialCipher.SETTING))
                    .or(() -> Optional.ofNullable(System.getProperty(CredentialCipher.SETTING))));
            if (r.get().isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), r.problem());
            }
            return r.get().get();
        }
    }

    /** Commands about one credential. */
    abstract static class Base extends Options {
        @Parameters(index = "0", paramLabel = "NAME", description = "credential name, as in the route conf's upstream_credential")
        String name;

        static String readSecret() throws IOException {
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line = in.readLine();
            if (line == null || line.isEmpty()) {
                throw new IOException("no secret on standard input");
            }
            return line;
        }

        int put(CredentialStore.Mode mode, Duration overlap) throws IOException {
            CredentialCipher cipher = cipher();
            String secret = readSecret();
            try (PamRedis r = redis()) {
                long v = new CredentialStore(r.client(), cipher).put(name, secret, mode, overlap, System.currentTimeMillis());
                PrintWriter out = spec.commandLine().getOut();
                out.println("credential " + name + ": version " + v + (mode == CredentialStore.Mode.ROTATE
                        ? " (previous version valid for " + overlap.toSeconds() + " s)" : ""));
                out.flush();
                return 0;
            } catch (redis.clients.jedis.exceptions.JedisDataException e) {
                spec.commandLine().getErr().println("refused: " + e.getMessage());
                return 2;
            }
        }
    }

    @Command(name = "set", mixinStandardHelpOptions = true, description = "Create a credential or replace it at once (secret on stdin).")
    static final class Set extends Base {
        @Override
        public Integer call() throws IOException {
            return put(CredentialStore.Mode.SET, Duration.ZERO);
        }
    }

    @Command(name = "rotate", mixinStandardHelpOptions = true, description = "Store a new version; the previous one stays valid for the overlap (secret on stdin).")
    static final class Rotate extends Base {
        @Option(names = "--overlap-seconds", defaultValue = "300", description = "how long the previous version stays valid (default ${DEFAULT-VALUE})")
        long overlapSeconds;

        @Override
        public Integer call() throws IOException {
            return put(CredentialStore.Mode.ROTATE, Duration.ofSeconds(overlapSeconds));
        }
    }

    @Command(name = "show-versions", mixinStandardHelpOptions = true, description = "List versions and their state (never the secret).")
    static final class ShowVersions extends Base {
        @Override
        public Integer call() {
            CredentialCipher cipher = cipher();
            try (PamRedis r = redis()) {
                List<CredentialStore.VersionInfo> versions = new CredentialStore(r.client(), cipher)
                        .versions(name, System.currentTimeMillis());
                PrintWriter out = spec.commandLine().getOut();
                if (versions.isEmpty()) {
                    spec.commandLine().getErr().println("no such credential: " + name);
                    return 1;
                }
                for (CredentialStore.VersionInfo v : versions) {
                    out.println("v" + v.version() + "\t" + v.state() + "\tcreated " + Instant.ofEpochMilli(v.createdAtMillis())
                            + (v.validUntilMillis() > 0 ? "\tvalid until " + Instant.ofEpochMilli(v.validUntilMillis()) : ""));
                }
                out.flush();
                return 0;
            }
        }
    }

    @Command(name = "migrate", mixinStandardHelpOptions = true,
            description = "Re-encrypt credentials stored before schema 2 so that their encryption binds name and version"
                    + " (runners refuse the old format). Idempotent.")
    static final class Migrate extends Options {
        @Parameters(paramLabel = "NAME", arity = "0..*", description = "credentials to migrate")
        List<String> names;

        @Option(names = "--all", description = "every credential in the store (SCAN; on Redis Cluster name them instead)")
        boolean all;

        @Override
        public Integer call() {
            if (all == (names != null && !names.isEmpty())) {
                throw new CommandLine.ParameterException(spec.commandLine(), "name the credentials or give --all (not both)");
            }
            CredentialCipher cipher = cipher();
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            int code = 0;
            try (PamRedis r = redis()) {
                CredentialStore store = new CredentialStore(r.client(), cipher);
                for (String n : all ? store.names() : names) {
                    try {
                        CredentialStore.Migration m = store.migrate(n);
                        switch (m) {
                            case MIGRATED -> out.println(n + ": version " + store.versions(n, System.currentTimeMillis()).get(0).version()
                                    + " migrated");
                            case ALREADY_MIGRATED -> out.println(n + ": already migrated");
                            case NOT_FOUND -> {
                                err.println(n + ": no such credential");
                                code = Math.max(code, 1);
                            }
                        }
                    } catch (java.security.GeneralSecurityException | redis.clients.jedis.exceptions.JedisDataException
                             | IllegalArgumentException e) {
                        // our messages name the credential and version, never a secret
                        err.println(n + ": refused: " + e.getMessage());
                        code = 2;
                    }
                }
            }
            out.flush();
            err.flush();
            return code;
        }
    }
}

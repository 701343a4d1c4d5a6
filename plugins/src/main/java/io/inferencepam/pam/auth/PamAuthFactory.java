package io.inferencepam.pam.auth;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.PamServices;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Phase;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates pam-auth plugins. One per runner: it owns what confs share — one key set and one
 * verified-token cache per issuer (however many routes name it), the credential cache and its
 * invalidation subscription, and the credential control-API endpoints.
 */
public final class PamAuthFactory implements PluginFactory {
    private static final Logger LOG = LoggerFactory.getLogger(PamAuthFactory.class);
    /** Verified tokens remembered per issuer. */
    static final long TOKEN_CACHE_SIZE = 100_000;

    private final PamServices services;
    private final PluginEnvironment env;
    private final AuthMetrics metrics;
    private final ConcurrentHashMap<String, TokenVerifier> verifiers = new ConcurrentHashMap<>();
    private final CredentialCipher.Result cipher;
    private final CredentialCacheSettings credentialSettings;
    private volatile CredentialCache credentialCache;

    public PamAuthFactory(PamServices services) {
        this.services = services;
        this.env = services.env();
        this.metrics = new AuthMetrics(env.metrics());
        this.cipher = CredentialCipher.fromSetting(env.setting(CredentialCipher.SETTING));
        this.credentialSettings = CredentialCacheSettings.from(env::setting);
        CredentialControlApi.register(env, services, cipher);
    }

    @Override
    public String name() {
        return PamAuthPlugin.NAME;
    }

    @Override
    public String confSchema() {
        return AuthConf.SCHEMA;
    }

    @Override
    public Set<Phase> phases() {
        // The response phase only filters model lists (docs/plugins/pam-auth.md#model-lists).
        return EnumSet.of(Phase.REQUEST, Phase.RESPONSE);
    }

    @Override
    public Plugin create(JsonNode confNode) throws InvalidConfException {
        AuthConf conf = AuthConf.parse(confNode);
        ModelResolver resolver;
        try {
            resolver = new ModelResolver(conf.api(), conf.fixedModel(), conf.modelFreePaths(), conf.modelQueryArgs(),
                    conf.ollamaManagement(), conf.maxBodyBytes());
        } catch (IllegalArgumentException e) {
            throw new InvalidConfException("$.fixed_model", e.getMessage());
        }
        if (conf.upstreamCredential().isPresent() && cipher.get().isEmpty()) {
            // Accept the conf (so the route exists) but every call on it fails closed with 503.
            LOG.error("route names upstream_credential {} but {}: its calls will be refused with 503",
                    conf.upstreamCredential().get(), cipher.problem());
        }
        TokenVerifier verifier = verifiers.computeIfAbsent(issuerKey(conf), k -> {
            IssuerKeys keys = new IssuerKeys(conf.issuer(), conf.jwksUri(), conf.jwksRefresh(), conf.jwksMinRefresh(),
                    env.blockingExecutor(), env.scheduler(), env.clock(), metrics.jwksRefreshes);
            env.onShutdown(keys);
            keys.start();
            return new TokenVerifier(keys, env.clock(), TOKEN_CACHE_SIZE, env.pluginExecutor());
        });
        TokenPolicy policy = new TokenPolicy(conf.algorithms(), conf.audiences(), conf.clockSkew(), conf.requiredScopes(),
                conf.groupsClaims(), conf.usernameClaim(), conf.clientClaims(), env.clock(),
                conf.requireAccessTokenType());
        return new PamAuthPlugin(conf, verifier, policy, resolver, new Entitlements(conf.entitlements()),
                this::credentialCache, metrics, env.offline());
    }

    /** Confs naming the same issuer the same way share keys and cache. */
    private static String issuerKey(AuthConf c) {
        return c.issuer() + "|" + c.jwksUri().map(Object::toString).orElse("") + "|" + c.jwksRefresh().toSeconds()
                + "|" + c.jwksMinRefresh().toSeconds();
    }

    private Optional<CredentialCache> credentialCache() {
        if (cipher.get().isEmpty()) {
            return Optional.empty();
        }
        CredentialCache c = credentialCache;
        if (c == null) {
            synchronized (this) {
                c = credentialCache;
                if (c == null) {
                    c = new CredentialCache(services.redis(), cipher.get().get(), env.blockingExecutor(),
                            credentialSettings.refresh(), credentialSettings.maxStale());
                    env.onShutdown(c);
                    credentialCache = c;
                }
            }
        }
        return Optional.of(c);
    }
}

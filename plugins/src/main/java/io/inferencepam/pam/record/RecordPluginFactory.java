package io.inferencepam.pam.record;

import com.fasterxml.jackson.databind.JsonNode;
import io.inferencepam.pam.PamServices;
import io.inferencepam.pam.record.query.AuditControlApi;
import io.inferencepam.runner.spi.InvalidConfException;
import io.inferencepam.runner.spi.Plugin;
import io.inferencepam.runner.spi.PluginFactory;

/** {@code pam-record}: one tamper-evident audit record per HTTP call. */
public final class RecordPluginFactory implements PluginFactory {
    private final PamServices services;
    private RecordService service;

    public RecordPluginFactory(PamServices services) {
        this.services = services;
        // Endpoints are cheap to register; they start the audit service on first use.
        AuditControlApi.register(services.env().control(), this::service);
    }

    @Override
    public String name() {
        return "pam-record";
    }

    @Override
    public String confSchema() {
        return RecordConf.SCHEMA;
    }

    @Override
    public Plugin create(JsonNode conf) throws InvalidConfException {
        RecordService svc;
        try {
            svc = service();
        } catch (IllegalArgumentException e) {
            throw new InvalidConfException("$", "audit settings are invalid: " + e.getMessage());
        } catch (Exception e) {
            throw new InvalidConfException("$", "the audit store could not be set up (" + e.getClass().getSimpleName()
                    + "); see the runner log");
        }
        if (conf.has("sink") && !conf.get("sink").asText().equals(svc.settings().sink())) {
            throw new InvalidConfException("$.sink", "this runner writes audit records to '" + svc.settings().sink()
                    + "' (PAM_AUDIT_SINK); the sink is a runner setting, not a route one");
        }
        return new RecordPlugin(RecordConf.from(conf), svc);
    }

    /**
     * The runner's trail for plugins' events ({@link io.inferencepam.pam.core.AuditEvent}): empty
     * when this runner does not record ({@code PAM_AUDIT_SPOOL_DIR} unset) or its audit service
     * cannot start (logged by the conf that needs it). May start the service: call it off the
     * event loop.
     */
    public java.util.Optional<io.inferencepam.pam.core.AuditTrail> trail() {
        if (services.env().setting("PAM_AUDIT_SPOOL_DIR").filter(s -> !s.isBlank()).isEmpty()) {
            return java.util.Optional.empty();
        }
        try {
            RecordService svc = service();
            return java.util.Optional.of(svc::append);
        } catch (Exception e) {
            return java.util.Optional.empty();
        }
    }

    /** The runner's audit service, started on first need. */
    synchronized RecordService service() throws Exception {
        if (service == null) {
            service = RecordService.start(services);
        }
        return service;
    }
}

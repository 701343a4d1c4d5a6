package io.inferencepam.pam;

import io.inferencepam.pam.approval.ApprovalFactory;
import io.inferencepam.pam.auth.PamAuthFactory;
import io.inferencepam.pam.guard.GuardPluginFactory;
import io.inferencepam.pam.guard.params.ParamBodyCheck;
import io.inferencepam.pam.guard.prompt.PromptBodyCheck;
import io.inferencepam.pam.mask.MaskPluginFactory;
import io.inferencepam.pam.quota.PamQuotaFactory;
import io.inferencepam.pam.record.RecordPluginFactory;
import io.inferencepam.runner.spi.PluginEnvironment;
import io.inferencepam.runner.spi.PluginFactory;
import io.inferencepam.runner.spi.PluginProvider;
import java.util.List;

/** Registers the PAM plugins with the runtime (ServiceLoader). */
public final class PamPluginProvider implements PluginProvider {
    @Override
    public List<PluginFactory> factories(PluginEnvironment environment) {
        PamServices services = new PamServices(environment);
        RecordPluginFactory record = new RecordPluginFactory(services);
        ApprovalFactory approvals = new ApprovalFactory(services, record::trail);
        return List.of(new PamAuthFactory(services),
                new GuardPluginFactory(environment, List.of(new ParamBodyCheck.Factory(), new PromptBodyCheck.Factory())),
                new MaskPluginFactory(environment), record, new PamQuotaFactory(services),
                approvals, approvals.reviewFactory());
    }
}

package io.inferencepam.pam.auth;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URI;
import org.junit.jupiter.api.Test;

class TransportSecurityTest {
    @Test
    void httpsAndLoopbackHttpAreUsed() {
        assertThatCode(() -> IssuerKeys.requireTransportSecurity(URI.create("https://sso.example.com/realms/ai/certs"))).doesNotThrowAnyException();
        assertThatCode(() -> IssuerKeys.requireTransportSecurity(URI.create("http://127.0.0.1:8080/certs"))).doesNotThrowAnyException();
        assertThatCode(() -> IssuerKeys.requireTransportSecurity(URI.create("http://[::1]:8080/certs"))).doesNotThrowAnyException();
    }

    @Test
    void plainHttpToAnotherHostIsRefused() {
        assertThatThrownBy(() -> IssuerKeys.requireTransportSecurity(URI.create("http://10.1.2.3/certs")))
                .isInstanceOf(IOException.class).hasMessageContaining("plain http");
        assertThatThrownBy(() -> IssuerKeys.requireTransportSecurity(URI.create("file:///etc/keys.json")))
                .isInstanceOf(IOException.class);
    }
}

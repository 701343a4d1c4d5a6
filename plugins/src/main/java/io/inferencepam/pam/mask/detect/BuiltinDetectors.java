package io.inferencepam.pam.mask.detect;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The built-in detectors by name, most specific first: when two candidates overlap, the one from
 * the earlier detector wins (a JWT inside "Bearer …" is reported as jwt; a Luhn-valid card is
 * not also a phone number).
 */
public final class BuiltinDetectors {
    private static final Map<String, Supplier<Detector>> ALL = build();

    private static Map<String, Supplier<Detector>> build() {
        Map<String, Supplier<Detector>> all = new LinkedHashMap<>();
        all.put("private_key", PemPrivateKeyDetector::new);
        all.put("jwt", JwtDetector::new);
        all.put("aws_access_key", PrefixTokenDetector::awsAccessKey);
        all.put("aws_secret_key", AwsSecretKeyDetector::new);
        all.put("github_token", PrefixTokenDetector::github);
        all.put("slack_token", PrefixTokenDetector::slack);
        all.put("openai_key", PrefixTokenDetector::openAi);
        all.put("bearer_token", BearerDetector::new);
        all.put("email", EmailDetector::new);
        all.put("iban", IbanDetector::new);
        all.put("card", CardDetector::new);
        all.put("ssn", SsnDetector::new);
        all.put("ipv6", IpDetector::v6);
        all.put("ipv4", IpDetector::v4);
        all.put("phone", PhoneDetector::new);
        // last: anything a specific detector recognises under a secret's key keeps its own label
        all.put("secret", KeyedSecretDetector::new);
        return java.util.Collections.unmodifiableMap(all);
    }

    private BuiltinDetectors() {
    }

    /** Names in precedence order. */
    public static List<String> names() {
        return List.copyOf(ALL.keySet());
    }

    public static Detector create(String name) {
        Supplier<Detector> s = ALL.get(name);
        if (s == null) {
            throw new IllegalArgumentException("unknown built-in detector " + name);
        }
        return s.get();
    }
}

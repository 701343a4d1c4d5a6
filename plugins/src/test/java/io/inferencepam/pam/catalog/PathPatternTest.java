package io.inferencepam.pam.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PathPatternTest {

    @Test
    void literalsStarsAndDoubleStars() {
        assertThat(PathPattern.of("/v1/chat/completions").matches("/v1/chat/completions")).isTrue();
        assertThat(PathPattern.of("/v1/chat/completions").matches("/v1/chat/completions/x")).isFalse();
        assertThat(PathPattern.of("/v1/chat/completions").matches("/v1/chat")).isFalse();
        assertThat(PathPattern.of("/v2/models/*/infer").matches("/v2/models/resnet/infer")).isTrue();
        assertThat(PathPattern.of("/v2/models/*/infer").matches("/v2/models/a/b/infer")).isFalse();
        assertThat(PathPattern.of("/v1/files/**").matches("/v1/files")).isTrue();
        assertThat(PathPattern.of("/v1/files/**").matches("/v1/files/f-1/content")).isTrue();
        assertThat(PathPattern.of("/v1/files/**").matches("/v1/filesx")).isFalse();
        assertThat(PathPattern.of("/v1/models/*/**").matches("/v1/models")).isFalse();
        assertThat(PathPattern.of("/v1/models/*/**").matches("/v1/models/meta-llama/Llama-3")).isTrue();
        assertThat(PathPattern.of("/**/secret").matches("/a/b/c/secret")).isTrue();
        assertThat(PathPattern.of("/**/secret").matches("/secret")).isTrue();
        assertThat(PathPattern.of("/**/secret").matches("/a/secretx")).isFalse();
        assertThat(PathPattern.of("/").matches("/")).isTrue();
        assertThat(PathPattern.of("/").matches("/a")).isFalse();
        assertThat(PathPattern.of("/**").matches("/")).isTrue();
    }

    @Test
    void starWithinASegment() {
        assertThat(PathPattern.of("/v1/models/*:predict").matches("/v1/models/iris:predict")).isTrue();
        assertThat(PathPattern.of("/v1/models/*:predict").matches("/v1/models/iris:explain")).isFalse();
        assertThat(PathPattern.of("/*_expert_distribution_record").matches("/dump_expert_distribution_record")).isTrue();
        assertThat(PathPattern.of("/a*b*c").matches("/aXbYbZc")).isTrue();
        assertThat(PathPattern.of("/a*b*c").matches("/aXbYbZ")).isFalse();
    }

    @Test
    void emptySegmentsNeverMatchALiteralOrAStar() {
        assertThat(PathPattern.of("/v1/*").matches("/v1/")).isFalse();
        assertThat(PathPattern.of("/a/b").matches("/a//b")).isFalse();
        assertThat(PathPattern.of("/a/**").matches("/a/")).isTrue(); // ** may swallow anything, also emptiness
    }

    @Test
    void caseInsensitiveMatchingForDenials() {
        PathPattern p = PathPattern.of("/v1/load_lora_adapter");
        String[] s = PathPattern.segments("/V1/Load_LoRA_Adapter");
        assertThat(p.matches(s)).isFalse();
        assertThat(p.matchesIgnoringCase(PathPattern.lower(s))).isTrue();
    }

    @Test
    void badPatternsAreRefused() {
        assertThatThrownBy(() -> PathPattern.of("v1/x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PathPattern.of("/v1//x")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PathPattern.of("/v1/x/")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PathPattern.of("/v1/x**")).isInstanceOf(IllegalArgumentException.class);
    }
}

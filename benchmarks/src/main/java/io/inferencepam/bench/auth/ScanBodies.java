package io.inferencepam.bench.auth;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Random;

/** Request bodies for the model-scan measurements: attacker-shaped and realistic ones. */
final class ScanBodies {
    private ScanBodies() {
    }

    /**
     * A chat body of {@code size} bytes that is almost nothing but distinct top-level keys:
     * {@code "0001a2b3":0,} is 13 bytes, so 16 MiB carry 1.29 M keys (the shape of issue 10, item 6).
     */
    static byte[] manyKeys(int size) {
        String head = "{\"model\":\"llama3\"";
        StringBuilder s = new StringBuilder(size);
        s.append(head);
        int i = 0;
        while (s.length() + 14 + 1 <= size) {
            s.append(",\"").append(String.format("%08x", i++)).append("\":0");
        }
        while (s.length() + 1 < size) {
            s.append(' ');
        }
        return s.append('}').toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** A long conversation: {@code size} bytes of messages in mixed English and accented text. */
    static byte[] longChat(int size) {
        StringBuilder s = new StringBuilder(size).append("{\"model\":\"llama3\",\"stream\":true,\"messages\":[");
        String text = "Summarise the attached report for the board, in plain words; keep the figures (€, ±, °C). ";
        int n = 0;
        while (s.length() < size - 400) {
            s.append(n == 0 ? "" : ",").append("{\"role\":\"").append(n % 2 == 0 ? "user" : "assistant")
                    .append("\",\"content\":\"").append(text.repeat(40)).append("\"}");
            n++;
        }
        return s.append("],\"max_tokens\":512}").toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A vision request: a short prompt and one base64 image of about {@code size} bytes. */
    static byte[] vision(int size) {
        byte[] image = new byte[size * 3 / 4 - 300];
        new Random(7).nextBytes(image);
        String b64 = Base64.getEncoder().encodeToString(image);
        return ("{\"model\":\"llama3\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"What is in this picture?\"},"
                + "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpeg;base64," + b64 + "\"}}]}]}")
                .getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] named(String name) {
        return switch (name) {
            case "keys16m" -> manyKeys((16 << 20) - 1);
            case "keys8m" -> manyKeys(8 << 20);
            case "chat1m" -> longChat(1 << 20);
            case "vision4m" -> vision(4 << 20);
            case "chat2k" -> longChat(2048);
            default -> throw new IllegalArgumentException(name);
        };
    }
}

package io.inferencepam.pam.mask.structure;

import io.inferencepam.pam.mask.MaskFailure;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Locale;
import java.util.zip.DataFormatException;
import java.util.zip.GZIPInputStream;
import java.util.zip.Inflater;

/**
 * Undoes the upstream's Content-Encoding so the text can be scanned. APISIX forwards compressed
 * bytes to the runner (conformance P5) even though pam-mask strips Accept-Encoding on the way in
 * (an upstream may compress anyway). gzip and deflate (zlib or raw) are decoded with a cap on the
 * decoded size (a decompression bomb fails closed); any other coding fails closed.
 */
public final class ContentDecoder {
    private ContentDecoder() {
    }

    /** The decoded bytes; {@code body} itself when there is no coding. */
    public static byte[] decode(byte[] body, List<String> contentEncodings, int maxBytes) {
        byte[] cur = body;
        List<String> codings = new java.util.ArrayList<>();
        for (String header : contentEncodings) {
            for (String c : header.split(",")) {
                String t = c.trim().toLowerCase(Locale.ROOT);
                if (!t.isEmpty() && !t.equals("identity")) {
                    codings.add(t);
                }
            }
        }
        for (int i = codings.size() - 1; i >= 0; i--) {
            String c = codings.get(i);
            cur = switch (c) {
                case "gzip", "x-gzip" -> gunzip(cur, maxBytes);
                case "deflate" -> inflate(cur, maxBytes);
                default -> throw new MaskFailure(502, "response_encoding_unsupported",
                        "The model's response used a content encoding the gateway cannot inspect, so it was withheld.");
            };
        }
        return cur;
    }

    private static byte[] gunzip(byte[] in, int max) {
        try (InputStream z = new GZIPInputStream(new ByteArrayInputStream(in), 8192)) {
            return readCapped(z, max);
        } catch (IOException e) {
            throw MaskFailure.unscannable("corrupt gzip");
        }
    }

    private static byte[] readCapped(InputStream in, int max) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[16384];
        int n;
        while ((n = in.read(buf)) > 0) {
            if (out.size() + n > max) {
                throw tooLarge();
            }
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    private static byte[] inflate(byte[] in, int max) {
        try {
            return inflate(in, max, false);
        } catch (DataFormatException zlibFailed) {
            try {
                return inflate(in, max, true);
            } catch (DataFormatException e) {
                throw MaskFailure.unscannable("corrupt deflate");
            }
        }
    }

    private static byte[] inflate(byte[] in, int max, boolean raw) throws DataFormatException {
        Inflater inf = new Inflater(raw);
        try {
            inf.setInput(in);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[16384];
            while (!inf.finished()) {
                int n = inf.inflate(buf);
                if (n == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    throw new DataFormatException("truncated");
                }
                if (out.size() + n > max) {
                    throw tooLarge();
                }
                out.write(buf, 0, n);
            }
            return out.toByteArray();
        } finally {
            inf.end();
        }
    }

    public static MaskFailure tooLarge() {
        return new MaskFailure(502, "response_too_large_to_inspect",
                "The model's response was larger than the gateway inspects, so it was withheld. "
                        + "Ask for a shorter response (e.g. lower max_tokens).");
    }
}

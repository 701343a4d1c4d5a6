package io.inferencepam.driver;

import java.nio.charset.StandardCharsets;

/** The error pages APISIX 3.18.0 (openresty) sends, byte for byte (conformance R8: 503, C2b: 502). */
final class NginxPages {
    private NginxPages() {
    }

    static byte[] page(int status) {
        String title = switch (status) {
            case 400 -> "400 Bad Request";
            case 502 -> "502 Bad Gateway";
            case 503 -> "503 Service Temporarily Unavailable";
            default -> status + " Error";
        };
        String html = "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title
                + "</h1></center>\r\n<hr><center>openresty</center>\r\n"
                + "<p><em>Powered by <a href=\"https://apisix.apache.org/\">APISIX</a>.</em></p></body>\r\n</html>\r\n";
        return html.getBytes(StandardCharsets.US_ASCII);
    }
}

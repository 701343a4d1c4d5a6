package io.inferencepam.pam.mask;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * A seeded, labelled corpus of model outputs for the recall/damage report ({@link MaskRecallTest}).
 * Each document is an assistant answer, a CSV table, a log excerpt, a code/config snippet, an
 * e-mail or a tool call, in English, German, French or Japanese, with labelled sensitive values
 * (every built-in detector's value types, in the spellings people and programs use: phones per
 * country, grouped and compact IBANs and cards, URL/HTML/JSON-escaped e-mails…) and look-alike
 * values that must stay intact (ids, versions, loopback and documentation addresses, git remotes,
 * dates, prices). The same seed always gives the same corpus.
 */
final class RecallCorpus {
    static final List<String> LANGS = List.of("en", "de", "fr", "ja");
    static final List<String> KINDS = List.of("answer", "csv", "log", "code", "email", "toolcall");

    /** A labelled value: {@code surface} is how it is spelled in the text the client reads. */
    record Label(String type, String surface) {
    }

    /** One document: the text a model produced, plus (for tool calls) a JSON arguments object. */
    record Doc(int id, String lang, String kind, String text, List<Label> labels, List<String> lookalikes) {
    }

    private final Random r;
    private List<Label> labels;
    private List<String> looks;
    private String lang;

    RecallCorpus(long seed) {
        this.r = new Random(seed);
    }

    List<Doc> generate(int perLangAndKind) {
        List<Doc> docs = new ArrayList<>();
        int id = 0;
        for (int rep = 0; rep < perLangAndKind; rep++) {
            for (String l : LANGS) {
                for (String k : KINDS) {
                    lang = l;
                    labels = new ArrayList<>();
                    looks = new ArrayList<>();
                    String text = switch (k) {
                        case "answer" -> answer();
                        case "csv" -> csv();
                        case "log" -> log();
                        case "code" -> code();
                        case "email" -> mail();
                        default -> toolCall();
                    };
                    docs.add(new Doc(id++, l, k, text, List.copyOf(labels), List.copyOf(looks)));
                }
            }
        }
        return docs;
    }

    // ---- value generators: each returns the surface and records the label ----

    private String v(String type, String surface) {
        labels.add(new Label(type, surface));
        return surface;
    }

    private String look(String surface) {
        looks.add(surface);
        return surface;
    }

    private <T> T pick(List<T> xs) {
        return xs.get(r.nextInt(xs.size()));
    }

    private String digits(int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append((char) ('0' + r.nextInt(10)));
        }
        return sb.toString();
    }

    private String alnum(int n, String alphabet) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return sb.toString();
    }

    private static final String UP = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    private static final String LOW = "abcdefghijklmnopqrstuvwxyz";
    private static final String DIG = "0123456789";
    private static final String B64 = UP + LOW + DIG + "+/";
    private static final String B64URL = UP + LOW + DIG + "-_";

    private static final List<String> FIRST = List.of("anna", "lukas", "marie", "jean", "yuki", "haruto", "sophie",
            "omar", "li", "chloe", "felix", "sakura", "pierre", "emma", "kenji");
    private static final List<String> LAST = List.of("mueller", "schmidt", "dubois", "martin", "tanaka", "sato",
            "nguyen", "rossi", "weber", "lefevre", "suzuki", "brown");
    private static final List<String> DOMAINS = List.of("gmail.com", "web.de", "orange.fr", "acme-corp.com",
            "docomo.ne.jp", "mail.example-shop.de", "laposte.net", "outlook.com", "yahoo.co.jp", "firma.de");

    String email() {
        return v("email", rawEmail());
    }

    private String rawEmail() {
        String local = pick(FIRST) + pick(List.of(".", "_", "", "+")) + pick(LAST) + (r.nextBoolean() ? digits(2) : "");
        return local + "@" + pick(DOMAINS);
    }

    /** An e-mail spelled URL-encoded, as an HTML entity, or as a JSON escape inside a logged string. */
    String encodedEmail() {
        String e = rawEmail();
        return v("email", switch (r.nextInt(3)) {
            case 0 -> e.replace("@", "%40").replace("+", "%2B");
            case 1 -> e.replace("@", r.nextBoolean() ? "&#64;" : "&commat;");
            default -> e.replace("@", "\\u0040");
        });
    }

    /** A phone of the document's country, in one of the spellings used there. */
    String phone() {
        String c = switch (lang) {
            case "de" -> "de";
            case "fr" -> "fr";
            case "ja" -> "ja";
            default -> r.nextBoolean() ? "us" : "gb";
        };
        return v("phone", phoneOf(c));
    }

    private String phoneOf(String country) {
        switch (country) {
            case "fr" -> {
                String d = pick(List.of("6", "7", "1", "4")) + digits(8);
                String[] p = {d.substring(0, 1), d.substring(1, 3), d.substring(3, 5), d.substring(5, 7), d.substring(7, 9)};
                return switch (r.nextInt(6)) {
                    case 0 -> "0" + String.join(" ", p);
                    case 1 -> "0" + String.join(".", p);
                    case 2 -> "0" + d;
                    case 3 -> "0" + String.join("\u00a0", p);
                    case 4 -> "+33 " + String.join(" ", p);
                    default -> "+33" + d;
                };
            }
            case "de" -> {
                boolean mobile = r.nextBoolean();
                String area = mobile ? pick(List.of("151", "160", "170", "171", "176")) : pick(List.of("30", "40", "89", "221", "69"));
                String sub = mobile ? digits(area.equals("151") || area.equals("176") ? 8 : 7)
                        : pick(List.of("2", "3", "4", "5", "6", "7")) + digits(area.length() == 2 ? 7 : 6);
                return switch (r.nextInt(5)) {
                    case 0 -> "0" + area + "/" + sub;
                    case 1 -> "(0" + area + ") " + sub;
                    case 2 -> "0" + area + " " + sub;
                    case 3 -> "+49 " + area + " " + sub;
                    default -> "+49 (0)" + area + " " + sub;
                };
            }
            case "ja" -> {
                boolean mobile = r.nextBoolean();
                String area = mobile ? pick(List.of("90", "80", "70")) : "3";
                String a = mobile ? "" + (r.nextInt(8) + 2) + digits(3) : "" + (r.nextInt(8) + 2) + digits(3);
                String b = digits(4);
                return switch (r.nextInt(4)) {
                    case 0 -> "0" + area + "-" + a + "-" + b;
                    case 1 -> "+81-" + area + "-" + a + "-" + b;
                    case 2 -> "+81 " + area + " " + a + " " + b;
                    default -> "0" + area + a + b;
                };
            }
            case "gb" -> {
                String d = "7" + pick(List.of("400", "700", "911", "832")) + digits(6);
                return switch (r.nextInt(3)) {
                    case 0 -> "0" + d.substring(0, 4) + " " + d.substring(4);
                    case 1 -> "+44 " + d.substring(0, 4) + " " + d.substring(4);
                    default -> "+44 20 7" + digits(3) + " " + digits(4);
                };
            }
            default -> {
                String area = pick(List.of("212", "415", "646", "312", "617", "202"));
                String ex = (r.nextInt(8) + 2) + digits(2);
                String line = digits(4);
                if (ex.endsWith("11")) {
                    ex = ex.charAt(0) + "23";
                }
                return switch (r.nextInt(5)) {
                    case 0 -> "(" + area + ") " + ex + "-" + line;
                    case 1 -> area + "-" + ex + "-" + line;
                    case 2 -> area + "." + ex + "." + line;
                    case 3 -> "+1 " + area + " " + ex + " " + line;
                    default -> "+1-" + area + "-" + ex + "-" + line;
                };
            }
        }
    }

    private int[] ssnParts() {
        int area = 1 + r.nextInt(898);
        if (area == 666) {
            area = 667;
        }
        return new int[] {area, 1 + r.nextInt(98), 1 + r.nextInt(9998)};
    }

    /** Nine bare digits: an SSN only by its context (a column, a JSON key, "SSN:"). */
    String bareSsn() {
        int[] p = ssnParts();
        return v("ssn", String.format("%03d%02d%04d", p[0], p[1], p[2]));
    }

    String dashedSsn() {
        int[] p = ssnParts();
        return v("ssn", String.format("%03d-%02d-%04d", p[0], p[1], p[2]));
    }

    private String cardDigits() {
        String prefix = pick(List.of("4", "51", "55", "37", "6011", "2221"));
        int len = prefix.equals("37") ? 15 : 16;
        String body = prefix + digits(len - prefix.length() - 1);
        for (int c = 0; c <= 9; c++) {
            if (luhn(body + c)) {
                return body + c;
            }
        }
        throw new AssertionError();
    }

    static boolean luhn(String d) {
        int sum = 0;
        for (int k = 0; k < d.length(); k++) {
            int v = d.charAt(d.length() - 1 - k) - '0';
            if ((k & 1) == 1) {
                v = v * 2 > 9 ? v * 2 - 9 : v * 2;
            }
            sum += v;
        }
        return sum % 10 == 0;
    }

    String card() {
        String d = cardDigits();
        return v("card", formatCard(d));
    }

    String cardCompact() {
        return v("card", cardDigits());
    }

    private String formatCard(String d) {
        if (d.length() == 15) {
            String sep = r.nextBoolean() ? " " : "-";
            return r.nextBoolean() ? d : d.substring(0, 4) + sep + d.substring(4, 10) + sep + d.substring(10);
        }
        return switch (r.nextInt(3)) {
            case 0 -> d;
            case 1 -> d.replaceAll("(\\d{4})(?=\\d)", "$1 ");
            default -> d.replaceAll("(\\d{4})(?=\\d)", "$1-");
        };
    }

    String iban() {
        String cc = switch (lang) {
            case "de" -> "DE";
            case "fr" -> "FR";
            default -> r.nextBoolean() ? "GB" : "DE";
        };
        String bban = switch (cc) {
            case "DE" -> digits(18);
            case "FR" -> digits(10) + alnum(11, UP + DIG) + digits(2);
            default -> alnum(4, UP) + digits(14);
        };
        String check = ibanCheck(cc, bban);
        String iban = cc + check + bban;
        return v("iban", r.nextBoolean() ? iban : iban.replaceAll("(.{4})(?=.)", "$1 "));
    }

    private static String ibanCheck(String cc, String bban) {
        String re = bban + cc + "00";
        int mod = 0;
        for (char c : re.toCharArray()) {
            String s = Character.isDigit(c) ? String.valueOf(c) : String.valueOf(c - 'A' + 10);
            for (char x : s.toCharArray()) {
                mod = (mod * 10 + (x - '0')) % 97;
            }
        }
        return String.format("%02d", 98 - mod);
    }

    String ipv4() {
        int a = pick(List.of(84, 91, 146, 185, 213, 62, 81, 133, 153, 210));
        return v("ipv4", a + "." + r.nextInt(256) + "." + r.nextInt(256) + "." + (1 + r.nextInt(254)));
    }

    String ipv6() {
        String s = pick(List.of("2a01:4f8:", "2001:4860:", "2a02:810d:", "2400:4050:", "2001:41d0:"))
                + Integer.toHexString(r.nextInt(0xffff) + 1);
        if (r.nextBoolean()) {
            s += "::" + Integer.toHexString(r.nextInt(0xffff) + 1);
        } else {
            for (int i = 0; i < 5; i++) {
                s += ":" + Integer.toHexString(r.nextInt(0xffff));
            }
        }
        return v("ipv6", s);
    }

    String awsAccess() {
        return v("aws_access_key", "AKIA" + alnum(16, UP + "234567"));
    }

    String awsSecret() {
        String s;
        do {
            s = alnum(40, B64);
        } while (!(s.chars().anyMatch(Character::isUpperCase) && s.chars().anyMatch(Character::isLowerCase)
                && s.chars().anyMatch(Character::isDigit)));
        return v("aws_secret_key", s);
    }

    String github() {
        return v("github_token", "ghp_" + alnum(36, UP + LOW + DIG));
    }

    String slack() {
        return v("slack_token", "xoxb-" + digits(12) + "-" + digits(13) + "-" + alnum(24, UP + LOW + DIG));
    }

    String openai() {
        return v("openai_key", "sk-proj-" + alnum(20, UP + LOW + DIG) + "T3BlbkFJ" + alnum(20, UP + LOW + DIG));
    }

    String jwt() {
        String header = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes());
        String payload = java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(
                ("{\"sub\":\"" + digits(8) + "\",\"name\":\"" + pick(FIRST) + "\",\"iat\":17" + digits(8) + "}").getBytes());
        return v("jwt", header + "." + payload + "." + alnum(43, B64URL));
    }

    String bearer() {
        return v("bearer_token", alnum(12, UP + LOW) + digits(4) + alnum(16, B64URL));
    }

    String privateKey() {
        StringBuilder b = new StringBuilder("-----BEGIN RSA PRIVATE KEY-----\n");
        for (int i = 0; i < 4; i++) {
            b.append(alnum(64, B64)).append('\n');
        }
        b.append(alnum(20, B64)).append("==\n-----END RSA PRIVATE KEY-----");
        return v("private_key", b.toString());
    }

    // ---- look-alikes (must not be masked) ----

    private String anyLookalike() {
        return look(switch (r.nextInt(14)) {
            case 0 -> "127.0.0.1";
            case 1 -> "0.0.0.0";
            case 2 -> "::1";
            case 3 -> "192.0.2." + (1 + r.nextInt(254));
            case 4 -> "198.51.100." + (1 + r.nextInt(254));
            case 5 -> "203.0.113." + (1 + r.nextInt(254));
            case 6 -> "Chrome/" + (100 + r.nextInt(30)) + ".0.0.0";
            case 7 -> "version 11.2.0." + (1 + r.nextInt(8));
            case 8 -> "git@github.com:" + pick(LAST) + "/" + pick(List.of("api", "infra", "web-app")) + ".git";
            case 9 -> java.util.UUID.nameUUIDFromBytes(digits(12).getBytes()).toString();
            case 10 -> "2026-0" + (1 + r.nextInt(9)) + "-1" + r.nextInt(10);
            case 11 -> "INV-" + digits(8);
            case 12 -> "2001:db8::" + Integer.toHexString(1 + r.nextInt(0xfff));
            default -> "17" + digits(11);
        });
    }

    // ---- per-language glue ----

    private String word(String key) {
        Map<String, String[]> w = WORDS;
        String[] t = w.get(key);
        int i = LANGS.indexOf(lang);
        return t[i];
    }

    private static final Map<String, String[]> WORDS = new LinkedHashMap<>();

    static {
        WORDS.put("email", new String[] {"email", "E-Mail", "adresse e-mail", "メールアドレス"});
        WORDS.put("phone", new String[] {"phone", "Telefon", "téléphone", "電話番号"});
        WORDS.put("card", new String[] {"card", "Karte", "carte", "カード番号"});
        WORDS.put("iban", new String[] {"IBAN", "IBAN", "IBAN", "IBAN"});
        WORDS.put("ip", new String[] {"IP address", "IP-Adresse", "adresse IP", "IPアドレス"});
        WORDS.put("name", new String[] {"name", "Name", "nom", "氏名"});
        WORDS.put("amount", new String[] {"amount", "Betrag", "montant", "金額"});
        WORDS.put("hello", new String[] {"Sure, here is the record you asked for.", "Gerne, hier ist der gewünschte Datensatz.",
                "Bien sûr, voici la fiche demandée.", "はい、ご依頼のレコードです。"});
        WORDS.put("contact", new String[] {"You can reach the customer at", "Der Kunde ist erreichbar unter",
                "Vous pouvez joindre le client au", "お客様の連絡先は"});
        WORDS.put("also", new String[] {"or by email:", "oder per E-Mail:", "ou par e-mail :", "、メールは"});
        WORDS.put("end", new String[] {".", ".", ".", "です。"});
        WORDS.put("login", new String[] {"login from", "Anmeldung von", "connexion depuis", "ログイン元"});
        WORDS.put("server", new String[] {"The server listens on", "Der Server lauscht auf", "Le serveur écoute sur",
                "サーバーの待ち受けアドレスは"});
        WORDS.put("paid", new String[] {"Paid with card", "Bezahlt mit Karte", "Payé avec la carte", "支払いカード："});
        WORDS.put("transfer", new String[] {"Please transfer to", "Bitte überweisen Sie auf", "Veuillez virer sur", "振込先："});
        WORDS.put("regards", new String[] {"Best regards", "Mit freundlichen Grüßen", "Cordialement", "よろしくお願いいたします。"});
    }

    /** Joins a label word and a value: glued in Japanese (no spaces in Japanese text). */
    private String glue(String a, String b) {
        return lang.equals("ja") ? a + b : a + " " + b;
    }

    private String sentenceEnd() {
        return word("end");
    }

    private String answer() {
        StringBuilder b = new StringBuilder(word("hello")).append("\n\n");
        String sep = lang.equals("ja") ? "：" : ": ";
        b.append("- ").append(word("name")).append(sep).append(cap(pick(FIRST))).append(' ').append(cap(pick(LAST))).append('\n');
        b.append("- ").append(word("email")).append(sep).append(email()).append('\n');
        b.append("- ").append(word("phone")).append(sep).append(phone()).append('\n');
        b.append("- ").append(word("card")).append(sep).append(card()).append('\n');
        b.append("- IBAN").append(sep).append(iban()).append('\n');
        if (lang.equals("en") || r.nextBoolean()) {
            b.append("- SSN").append(sep).append(dashedSsn()).append('\n');
        }
        b.append('\n').append(glue(word("contact"), phone())).append(' ').append(glue(word("also"), email())).append(sentenceEnd()).append('\n');
        b.append(glue(word("login"), ipv6())).append(sentenceEnd()).append(' ');
        b.append(glue(word("login"), ipv4())).append(sentenceEnd()).append('\n');
        b.append(glue(word("server"), anyLookalike())).append(sentenceEnd()).append(" (").append(anyLookalike()).append(")\n");
        return b.toString();
    }

    private static String cap(String s) {
        return Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }

    private String csv() {
        StringBuilder b = new StringBuilder(switch (lang) {
            case "de" -> "Hier die Tabelle als CSV:\n\n";
            case "fr" -> "Voici le tableau au format CSV :\n\n";
            case "ja" -> "CSV形式の表です：\n\n";
            default -> "Here is the table as CSV:\n\n";
        });
        b.append("id,").append(word("name")).append(',').append(word("email")).append(",ssn,").append(word("phone"))
                .append(",card,ip,").append(word("amount")).append('\n');
        for (int row = 0; row < 3; row++) {
            b.append(1000 + r.nextInt(9000)).append(',').append(cap(pick(FIRST))).append(',').append(email()).append(',')
                    .append(r.nextBoolean() ? dashedSsn() : bareSsn()).append(',').append(phone()).append(',')
                    .append(cardCompact()).append(',').append(ipv4()).append(',').append(r.nextInt(900) + 10).append('.')
                    .append(digits(2)).append('\n');
        }
        b.append(lang.equals("ja") ? "以上3件です。" : "3 rows.").append('\n');
        return b.toString();
    }

    private String log() {
        StringBuilder b = new StringBuilder(lang.equals("ja") ? "ログの該当部分です：\n```\n" : lang.equals("de")
                ? "Hier der relevante Log-Ausschnitt:\n```\n" : lang.equals("fr") ? "Voici l'extrait du journal :\n```\n"
                : "Here are the relevant log lines:\n```\n");
        String ts = "2026-03-1" + r.nextInt(10) + "T0" + r.nextInt(10) + ":1" + r.nextInt(10) + ":2" + r.nextInt(10) + "Z";
        b.append(ts).append(" INFO  auth ").append(lang.equals("ja") ? "ログイン成功 ユーザー=" : "login ok user=").append(email())
                .append(" src=").append(ipv4()).append(" ua=\"Mozilla/5.0 ").append(anyLookalike()).append("\"\n");
        b.append(ts).append(" WARN  http GET /api/v1/users?email=").append(encodedEmail()).append("&ref=")
                .append(anyLookalike()).append(" from ").append(ipv6()).append('\n');
        b.append(ts).append(" DEBUG payload={\"msg\":\"contact ").append(encodedEmail()).append("\",\"host\":\"")
                .append(anyLookalike()).append("\"}\n");
        b.append(ts).append(" INFO  <a href=\"mailto:").append(encodedEmail()).append("\">mail</a>\n");
        b.append(ts).append(" ERROR upstream Authorization: Bearer ").append(bearer()).append(" rejected (")
                .append(anyLookalike()).append(")\n```\n");
        b.append(lang.equals("ja") ? "接続元は" + ipv6() + "です。" : glue(word("login"), ipv6()) + ".").append('\n');
        return b.toString();
    }

    private String code() {
        StringBuilder b = new StringBuilder(lang.equals("ja") ? "設定ファイルの例：\n" : lang.equals("de")
                ? "Beispielkonfiguration:\n" : lang.equals("fr") ? "Exemple de configuration :\n" : "Example configuration:\n");
        b.append("```ini\n[default]\naws_access_key_id = ").append(awsAccess()).append("\naws_secret_access_key = ")
                .append(awsSecret()).append("\nregion = eu-central-1\n```\n```python\n");
        b.append("GITHUB_TOKEN = \"").append(github()).append("\"\nSLACK_BOT = '").append(slack()).append("'\n");
        b.append("client = OpenAI(api_key=\"").append(openai()).append("\")\n");
        b.append("DB_HOST = \"").append(anyLookalike()).append("\"  # ").append(anyLookalike()).append('\n');
        b.append("REMOTE = \"").append(look("git@gitlab.com:" + pick(LAST) + "/" + pick(List.of("svc", "tools")) + ".git")).append("\"\n");
        b.append("ORACLE = \"version ").append(look("19.3.0." + (1 + r.nextInt(9)))).append("\"\n");
        b.append("TOKEN = \"").append(jwt()).append("\"\n```\n");
        b.append(privateKey()).append('\n');
        return b.toString();
    }

    private String mail() {
        StringBuilder b = new StringBuilder();
        b.append("From: ").append(cap(pick(FIRST))).append(" <").append(email()).append(">\nTo: ").append(email())
                .append("\nSubject: ").append(lang.equals("ja") ? "ご確認のお願い" : "Re: " + look("INV-" + digits(8))).append("\n\n");
        switch (lang) {
            case "de" -> b.append("Hallo,\n\nbitte rufen Sie mich unter ").append(phone()).append(" an oder mobil unter ")
                    .append(phone()).append(". Die Überweisung geht auf ").append(iban()).append(".\n");
            case "fr" -> b.append("Bonjour,\n\nmerci de me rappeler au ").append(phone()).append(" ou au ").append(phone())
                    .append(". Le virement est à faire sur ").append(iban()).append(".\n");
            case "ja" -> b.append("お世話になっております。\n\n折り返しは").append(phone()).append("まで、携帯は").append(phone())
                    .append("にお願いします。メール").append(email()).append("でも構いません。\n");
            default -> b.append("Hi,\n\nplease call me at ").append(phone()).append(" or on my cell ").append(phone())
                    .append(". My SSN for the form is ").append(dashedSsn()).append(".\n");
        }
        b.append('\n').append(word("regards")).append('\n');
        return b.toString();
    }

    /** A tool call: the text is the JSON arguments object (key context, numbers, e-mail as a key). */
    private String toolCall() {
        String ssnBare = bareSsn();
        String cardNum = cardDigits();
        labels.add(new Label("card", cardNum));
        String key = rawEmail();
        labels.add(new Label("email", key));
        String secret = awsSecret();
        String phoneKeyed = phone();
        return "{\"customer\":{\"name\":\"" + cap(pick(FIRST)) + "\",\"ssn\":\"" + ssnBare + "\",\"phone\":\""
                + phoneKeyed + "\",\"card_number\":" + cardNum + ",\"email\":\"" + email() + "\"},"
                + "\"aws_secret_access_key\":\"" + secret + "\",\"contacts\":{\"" + key + "\":{\"role\":\"owner\"}},"
                + "\"version\":\"" + look("11.2.0." + (1 + r.nextInt(8))) + "\",\"host\":\"" + anyLookalike() + "\","
                + "\"order\":\"" + look("INV-" + digits(8)) + "\",\"qty\":" + (1 + r.nextInt(20)) + "}";
    }
}

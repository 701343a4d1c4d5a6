#!/usr/bin/env python3
"""Generates corpus.jsonl: realistic model responses with labelled PII/secrets (fixed seed).

Each line: {"id", "text", "pii": [{"detector", "value"}]}. Labels say what a careful human
would mask, independent of what pam-mask detects: a few shapes on purpose fall outside the
detectors (bare 10-digit phones, undashed SSNs) so recall is measured honestly. Bait (UUIDs,
order numbers, timestamps, versions, hashes, prices) is never labelled.
Run: python3 generate.py > corpus.jsonl
"""
import base64, json, random, string

R = random.Random(20240512)
FIRST = ["Jane", "Omar", "Li", "Priya", "Marco", "Ana", "Tom", "Fatima", "Kenji", "Sara"]
LAST = ["Roe", "Haddad", "Wei", "Nair", "Rossi", "Silva", "Berg", "Khan", "Sato", "Lind"]
DOMAINS = ["example.com", "mail.example.org", "corp.example.net", "example.co.uk", "uni.example.edu"]


def luhn_complete(prefix, length):
    d = prefix + "".join(R.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for c in string.digits:
        s = d + c
        tot = 0
        for i, ch in enumerate(reversed(s)):
            v = int(ch)
            if i % 2:
                v *= 2
                if v > 9:
                    v -= 9
            tot += v
        if tot % 10 == 0:
            return s


def group(s, n=4, sep=" "):
    return sep.join(s[i:i + n] for i in range(0, len(s), n))


def card():
    kind = R.choice(["visa", "mc", "amex", "disc"])
    if kind == "visa":
        d = luhn_complete("4", 16)
    elif kind == "mc":
        d = luhn_complete("5" + R.choice("12345"), 16)
    elif kind == "amex":
        d = luhn_complete(R.choice(["34", "37"]), 15)
        return R.choice([d, d[:4] + " " + d[4:10] + " " + d[10:]])
    else:
        d = luhn_complete("6011", 16)
    return R.choice([d, group(d), group(d, sep="-")])


def iban():
    cc, n = R.choice([("DE", 18), ("GB", None), ("FR", None), ("NL", None)])
    if cc == "DE":
        bban = "".join(R.choice(string.digits) for _ in range(18))
    elif cc == "GB":
        bban = "NWBK" + "".join(R.choice(string.digits) for _ in range(14))
    elif cc == "FR":
        bban = "".join(R.choice(string.digits) for _ in range(23))
    else:
        bban = "ABNA" + "".join(R.choice(string.digits) for _ in range(10))
    num = "".join(str(int(c, 36)) for c in bban + cc + "00")
    check = 98 - int(num) % 97
    s = cc + "%02d" % check + bban
    return R.choice([s, group(s)])


def ssn():
    while True:
        a = R.randint(1, 899)
        if a != 666:
            break
    return "%03d-%02d-%04d" % (a, R.randint(1, 99), R.randint(1, 9999))


def email():
    f, l = R.choice(FIRST).lower(), R.choice(LAST).lower()
    return R.choice([f + "." + l, f[0] + l, f + "_" + l + str(R.randint(1, 99))]) + "@" + R.choice(DOMAINS)


def phone():
    return R.choice([
        "+1 %d 555 %04d" % (R.randint(201, 989), R.randint(100, 9999)),
        "(%d) 555-%04d" % (R.randint(201, 989), R.randint(100, 9999)),
        "%d-555-%04d" % (R.randint(201, 989), R.randint(100, 9999)),
        "+44 20 7946 %04d" % R.randint(0, 9999),
        "+49 30 %d %04d" % (R.randint(100, 999), R.randint(0, 9999)),
        "020 7946 %04d" % R.randint(0, 9999),
        "+33 1 %02d %02d %02d %02d" % tuple(R.randint(10, 99) for _ in range(4)),
    ])


def rnd(alphabet, n):
    return "".join(R.choice(alphabet) for _ in range(n))


AN = string.ascii_letters + string.digits


def secret(kind):
    if kind == "aws_access_key":
        return "AKIA" + rnd(string.ascii_uppercase + "234567", 16)
    if kind == "aws_secret_key":
        v = rnd(AN + "/+", 40)
        return v if any(c.isdigit() for c in v) and any(c.isupper() for c in v) and any(c.islower() for c in v) else secret(kind)
    if kind == "github_token":
        return R.choice(["ghp_", "gho_", "ghs_"]) + rnd(AN, 36)
    if kind == "slack_token":
        return "xoxb-" + rnd(string.digits, 12) + "-" + rnd(string.digits, 13) + "-" + rnd(AN, 24)
    if kind == "openai_key":
        return R.choice(["sk-proj-", "sk-"]) + rnd(AN, 44) + str(R.randint(0, 9))
    if kind == "bearer_token":
        return rnd(AN, 20) + str(R.randint(0, 9)) + rnd(AN + "-._", 12)
    if kind == "jwt":
        b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=").decode()
        return b(json.dumps({"alg": R.choice(["HS256", "RS256"]), "typ": "JWT"}).encode()) + "." + \
            b(json.dumps({"sub": rnd(string.digits, 8), "name": R.choice(FIRST), "iat": R.randint(1600000000, 1700000000)}).encode()) + "." + \
            b(bytes(R.getrandbits(8) for _ in range(32)))
    if kind == "private_key":
        body = "\n".join(rnd(AN + "+/", 64) for _ in range(R.randint(3, 6)))
        label = R.choice(["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY"])
        return "-----BEGIN %s-----\n%s\n-----END %s-----" % (label, body, label)
    raise ValueError(kind)


def ipv4():
    return "%d.%d.%d.%d" % (R.choice([10, 172, 192, 203, 198]), R.randint(0, 255), R.randint(0, 255), R.randint(1, 254))


def ipv6():
    return R.choice(["2001:db8:%x:%x::%x" % (R.randint(1, 65535), R.randint(1, 65535), R.randint(1, 65535)),
                     "fe80::%x:%x:%x:%x" % tuple(R.randint(1, 65535) for _ in range(4)),
                     "2001:0db8:85a3:0000:0000:8a2e:0370:%04x" % R.randint(1, 65535)])


def bait():
    return R.choice([
        "order #%d" % R.randint(100000, 999999), "Order %d-%d-%d" % (R.randint(1000, 9999), R.randint(1000, 9999), R.randint(1000, 9999)),
        "ticket %s" % "-".join(rnd("0123456789abcdef", n) for n in (8, 4, 4, 4, 12)),
        "2024-%02d-%02dT%02d:%02d:%02dZ" % (R.randint(1, 12), R.randint(1, 28), R.randint(0, 23), R.randint(0, 59), R.randint(0, 59)),
        "%02d:%02d:%02d" % (R.randint(0, 23), R.randint(0, 59), R.randint(0, 59)),
        "v%d.%d.%d" % (R.randint(0, 9), R.randint(0, 30), R.randint(0, 99)), "version %d.%d.%d" % (R.randint(1, 9), R.randint(0, 30), R.randint(0, 99)),
        "commit %s" % rnd("0123456789abcdef", 40), "sha256 %s" % rnd("0123456789abcdef", 64),
        "$%d,%03d.%02d" % (R.randint(1, 99), R.randint(0, 999), R.randint(0, 99)), "EUR %d.%02d" % (R.randint(1, 9999), R.randint(0, 99)),
        "timestamp %d" % R.randint(1600000000, 1800000000), "ts_ms %d" % R.randint(1600000000000, 1800000000000),
        "tracking 1Z%s" % rnd(string.ascii_uppercase + string.digits, 16), "invoice INV-%d" % R.randint(10000000, 99999999),
        "build %d" % R.randint(1000, 99999), "pi is 3.14159265358979", "ISBN 978-%d-%02d-%06d-%d" % (R.randint(0, 9), R.randint(10, 99), R.randint(0, 999999), R.randint(0, 9)),
        "request id %s" % rnd("0123456789abcdef", 32), "port 8080", "HTTP/1.1 200", "resolution 1920x1080",
        "part no. %d-%d" % (R.randint(100, 999), R.randint(1000, 9999)), "SKU %d" % R.randint(1000000000000, 9999999999999),
    ])


TEMPLATES = [
    ("Sure! Here is the customer record you asked for:\n\n- Name: {name}\n- Email: {email}\n- Phone: {phone}\n- Card on file: {card}\n\nNote: {bait}, {bait2}.", ["email", "phone", "card"]),
    ("I found {n} matching accounts. The primary contact is {name} ({email}); billing goes to IBAN {iban}. Last login from {ipv4} at {bait}.", ["email", "iban", "ipv4"]),
    ("Here's the config that was failing:\n```\nAWS_ACCESS_KEY_ID={aws_access_key}\nAWS_SECRET_ACCESS_KEY={aws_secret_key}\nREGION=eu-west-1\n```\nThe error was logged with {bait}.", ["aws_access_key", "aws_secret_key"]),
    ("To call the API, send `Authorization: Bearer {bearer_token}` with each request. Rate limits reset every hour ({bait}).", ["bearer_token"]),
    ("The JWT in your log is {jwt} — decode it with jwt.io but never paste it into chats.", ["jwt"]),
    ("Your .env file contains OPENAI_API_KEY={openai_key} and GITHUB_TOKEN={github_token}. Rotate both. ({bait})", ["openai_key", "github_token"]),
    ("The Slack bot token {slack_token} appears in the workflow file committed in {bait}.", ["slack_token"]),
    ("Here is the deploy key from the repo:\n\n{private_key}\n\nRemove it from history with git filter-repo.", ["private_key"]),
    ("Employee {name}, SSN {ssn}, started on {bait}. Emergency contact: {phone}.", ["ssn", "phone"]),
    ("The server at {ipv6} rejected the handshake; fallback {ipv4} worked. See {bait} and {bait2}.", ["ipv6", "ipv4"]),
    ("Summary: {name} paid {bait} with card {card}; receipt sent to {email}. Refund ref {bait2}.", ["card", "email"]),
    ("No personal data in this answer: {bait}, {bait2}, and release {bait3} fixed the issue.", []),
    ("Contact {name} on {phone} or {phone2}. Alternate email: {email}.", ["phone", "phone", "email"]),
    ("Wire transfer details: beneficiary {name}, IBAN {iban}, reference {bait}.", ["iban"]),
    ("Hard cases: call {name} at {bare_phone} or check SSN {bare_ssn} in the HR file ({bait}).", ["phone", "ssn"]),
]


def fill(template, labels):
    pii = []
    vals = {}
    counters = {}

    def take(kind, value):
        pii.append({"detector": kind, "value": value})
        return value

    out = template
    gens = {"email": email, "phone": phone, "card": card, "iban": iban, "ssn": ssn, "ipv4": ipv4, "ipv6": ipv6}
    for key in ["email", "phone2", "phone", "card", "iban", "ssn", "ipv4", "ipv6", "aws_access_key", "aws_secret_key",
                "github_token", "slack_token", "openai_key", "bearer_token", "jwt", "private_key"]:
        ph = "{" + key + "}"
        if ph in out:
            kind = "phone" if key == "phone2" else key
            v = gens[kind]() if kind in gens else secret(kind)
            out = out.replace(ph, take(kind, v), 1)
    if "{bare_phone}" in out:
        out = out.replace("{bare_phone}", take("phone", "%d555%04d" % (R.randint(201, 989), R.randint(100, 9999))))
    if "{bare_ssn}" in out:
        out = out.replace("{bare_ssn}", take("ssn", "%03d%02d%04d" % (R.randint(1, 665), R.randint(1, 99), R.randint(1, 9999))))
    out = out.replace("{name}", R.choice(FIRST) + " " + R.choice(LAST)).replace("{n}", str(R.randint(2, 9)))
    for b in ["{bait}", "{bait2}", "{bait3}"]:
        out = out.replace(b, bait())
    return out, pii


docs = []
i = 0
for rep in range(5):
    for t, labels in TEMPLATES:
        text, pii = fill(t, labels)
        docs.append({"id": "doc-%03d" % i, "text": text, "pii": pii})
        i += 1
for d in docs:
    print(json.dumps(d, ensure_ascii=False))

#!/usr/bin/env python3
"""Regenerate the seed corpora in fuzz/corpus/<target>/ from tests/vectors/ plus hand-made edge cases.

Each seed is the input one fuzz target reads (see the mode byte described at the top of each
fuzz/<target>_fuzz.c). Run from anywhere: `python3 fuzz/make_corpus.py`. Existing seeds with the
same name are overwritten; seeds libFuzzer added under other names are left alone.
"""
import base64
import hashlib
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VEC = os.path.join(ROOT, "tests", "vectors")
OUT = os.path.join(ROOT, "fuzz", "corpus")


def load(rel):
    with open(os.path.join(VEC, rel)) as f:
        return json.load(f)


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


# ---- a small CBOR encoder / splitter (enough for claims sets and COSE envelopes) ----
class Tag:
    def __init__(self, tag, value):
        self.tag, self.value = tag, value


def head(mt, v):
    if v < 24:
        return bytes([mt << 5 | v])
    if v < 0x100:
        return bytes([mt << 5 | 24, v])
    if v < 0x10000:
        return bytes([mt << 5 | 25]) + struct.pack(">H", v)
    if v < 0x100000000:
        return bytes([mt << 5 | 26]) + struct.pack(">I", v)
    return bytes([mt << 5 | 27]) + struct.pack(">Q", v)


def cbor(x):
    if isinstance(x, bool):
        return b"\xf5" if x else b"\xf4"
    if x is None:
        return b"\xf6"
    if isinstance(x, int):
        return head(0, x) if x >= 0 else head(1, -1 - x)
    if isinstance(x, float):
        return b"\xfb" + struct.pack(">d", x)
    if isinstance(x, bytes):
        return head(2, len(x)) + x
    if isinstance(x, str):
        b = x.encode()
        return head(3, len(b)) + b
    if isinstance(x, list):
        return head(4, len(x)) + b"".join(cbor(e) for e in x)
    if isinstance(x, dict):
        return head(5, len(x)) + b"".join(cbor(k) + cbor(v) for k, v in x.items())
    if isinstance(x, Tag):
        return head(6, x.tag) + cbor(x.value)
    raise TypeError(x)


def item_end(b, i):
    """Index just past the CBOR item starting at b[i] (definite lengths only)."""
    ib = b[i]
    mt, ai = ib >> 5, ib & 31
    i += 1
    if ai < 24:
        v = ai
    elif ai in (24, 25, 26, 27):
        n = 1 << (ai - 24)
        v = int.from_bytes(b[i:i + n], "big")
        i += n
    else:
        raise ValueError("indefinite")
    if mt in (2, 3):
        return i + v
    if mt == 4:
        for _ in range(v):
            i = item_end(b, i)
        return i
    if mt == 5:
        for _ in range(2 * v):
            i = item_end(b, i)
        return i
    if mt == 6:
        return item_end(b, i)
    if mt == 7 and ai in (25, 26, 27):
        return i
    return i


def cose_payload(raw):
    """The payload bytes (contents of element 2) of a [tagged] COSE_Mac0 array, or None."""
    i = 0
    while raw[i] >> 5 == 6:  # skip tag heads
        ai = raw[i] & 31
        i += 1 if ai < 24 else 1 + (1 << (ai - 24))
    if raw[i] != 0x84:
        return None
    i += 1
    i = item_end(raw, i)
    i = item_end(raw, i)
    start = i
    ib = raw[i]
    mt, ai = ib >> 5, ib & 31
    if mt != 2:
        return None
    hl = 1 if ai < 24 else 1 + (1 << (ai - 24))
    return raw[start + hl:item_end(raw, start)]


# ---- writing ----
total = 0


def put(target, name, data):
    global total
    if isinstance(data, str):
        data = data.encode()
    name = "".join(c if c.isalnum() or c in "._-" else "-" for c in name).strip("-")
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
    total += len(data)


def main():
    catgen = load("cat/eyevinn-node-cat-generated.json")
    published = load("cat/published-test-tokens.json")
    renewal = load("cat/eyevinn-http-flow-renewal.json")
    cat_tokens = [(v["name"], v["token"]) for v in catgen["vectors"]]
    cat_tokens += [(v["id"], v["token"]) for v in published]
    for r in renewal["results"]:
        for h, val in r.get("responseHeaders", {}).items():
            tok = val.split("cat=")[-1].split("=", 1)[-1].split(";")[0]
            if len(tok) > 40:
                cat_tokens.append(("renewed-" + r["name"].split()[1], tok))

    # cat_verify: token text, plus padded / standard-alphabet / truncated variants.
    for name, tok in cat_tokens:
        put("cat_verify", name, tok)
    tok = dict(cat_tokens)["minimal"]
    raw = b64url_decode(tok)
    put("cat_verify", "edge-padded", tok + "=" * (-len(tok) % 4))
    put("cat_verify", "edge-std-alphabet", base64.b64encode(raw).decode())
    put("cat_verify", "edge-truncated", tok[:-10])
    put("cat_verify", "edge-empty", "")
    put("cat_verify", "edge-bad-char", tok[:20] + "!" + tok[21:])

    # cat_cbor: mode 0 = whole structure, mode 1|tags<<1 = claims set behind a valid MAC.
    for name, tok in cat_tokens:
        raw = b64url_decode(tok)
        put("cat_cbor", "raw-" + name, b"\x00" + raw)
        p = cose_payload(raw)
        if p is not None:
            put("cat_cbor", "claims-" + name, b"\x07" + p)
    base = {1: "eyevinn", 4: 4102444800, 6: 1748000000, 7: bytes.fromhex("deadbeef"), 310: 1}

    def claims(name, extra, mode=0x07):
        c = dict(base)
        c.update(extra)
        put("cat_cbor", "claims-" + name, bytes([mode]) + cbor(c))

    ip4 = lambda s: bytes(int(x) for x in s.split("."))
    claims("catu-all-matches", {312: {0: {0: "https"}, 1: {2: ".example.com"}, 2: {0: "8443"},
                                      3: {1: "/content/"}, 4: {3: "y=2"}, 5: {0: "/content/a/b"},
                                      6: {0: "index.m3u8"}, 7: {0: "index"}, 8: {0: ".m3u8"}}})
    claims("catu-regex-sha", {312: {3: {4: ["^/content/([a-z]+)/", "i"]},
                                    1: {-1: hashlib.sha256(b"cdn.example.com").digest()},
                                    6: {-2: hashlib.sha512(b"index.m3u8").digest()[:32]}}})
    claims("catu-sha-hex-text", {312: {1: {-1: hashlib.sha256(b"cdn.example.com").hexdigest()}}})
    claims("catnip-all-forms", {311: [64500, Tag(52, ip4("192.168.1.10")), Tag(52, [24, ip4("192.168.1.0")[:3]]),
                                      Tag(54, bytes(16)), Tag(54, [32, bytes.fromhex("20010db8")])]})
    claims("catnip-v6", {311: [Tag(54, [48, bytes.fromhex("20010db80000")])]}, 0x0f)
    claims("catm-catalpn", {313: ["GET", "HEAD"], 314: [b"h2", b"http/1.1"]})
    claims("cath", {315: {"User-Agent": {1: "Mozilla"}, "Referer": {3: "example"}}})
    claims("geo", {316: ["US-CA", "SE"], 317: [[37.77, -122.42, 5000]], 282: ["9q8yy", "u6sc"],
                   318: 100})
    claims("composite-akamai", {41: [{313: ["POST"]}, {316: ["US"]}], 42: [{316: ["RU"]}],
                                43: [{310: 1}]})
    claims("composite-draft", {324: [{313: ["POST"]}, {316: ["US"]}], 325: [{316: ["RU"]}]})
    claims("catif", {322: {313: [302, {"Location": ["https://other.example.com/?cat=", {1: "eyevinn"}]}, "Symmetric256"]},
                     313: ["PUT"]})
    claims("catr-header", {4: FZ_NOW() + 30, 323: {0: 2, 1: 120, 2: 60, 4: "CTA-Common-Access-Token", 6: ["a=b"]}})
    claims("catr-cookie", {4: FZ_NOW() + 30, 323: {0: 1, 1: 120, 2: 60, 3: "cat", 5: ["Secure", "HttpOnly"]}})
    claims("catr-redirect", {4: FZ_NOW() + 30, 323: {0: 3, 1: 120, 2: 60, 7: 307}})
    claims("catr-auto", {4: FZ_NOW() + 30, 323: {0: 0, 1: 120}})
    claims("crit-dpop-cnf", {45: [313, 999], 321: {0: 300, 1: 1}, 8: {3: bytes(32)}, 999: "x"})
    claims("replay-por-tpk", {308: 2, 309: [1, 2, 3], 319: b"pin", 320: ["d"]})
    claims("aud-sub-nbf", {2: "user", 3: ["one", "cdn"], 5: FZ_NOW() + 100})
    claims("legacy-labels", {267: "x", 270: {0: "https"}})
    claims("deep-nesting", {41: [{41: [{41: [{41: [{313: ["GET"]}]}]}]}]})
    put("cat_cbor", "claims-indefinite", b"\x07\xbf\x01\x67eyevinn\x19\x01\x36\x01\xff")
    put("cat_cbor", "claims-not-a-map", b"\x07" + cbor([1, 2, 3]))
    put("cat_cbor", "claims-float-exp", b"\x07" + cbor({4: 4102444800.5}))
    put("cat_cbor", "raw-empty", b"\x00")
    put("cat_cbor", "raw-sign1", b"\x00" + cbor(Tag(61, Tag(18, [cbor({1: -7}), {}, cbor(base), bytes(64)]))))
    put("cat_cbor", "raw-untagged", b"\x00" + cbor([cbor({1: 5}), {4: b"Symmetric256"}, cbor(base), bytes(32)]))

    # token_inspect: every token of every scheme.
    for name, tok in cat_tokens:
        put("token_inspect", "cat-" + name, tok)

    # JWT
    jwt = load("cdn/jwt-hls.json")
    for c in jwt["cases"]:
        put("jwt_verify", "raw-" + c["name"], b"\x00" + c["expected"].encode())
        put("jwt_verify", "url-" + c["name"], b"\x03" + c["expected"].encode())
        put("jwt_verify", "signed-" + c["name"], b"\x01" + json.dumps(c["claims"]).encode())
        put("token_inspect", "jwt-" + c["name"], c["expected"])
    hs = '{"alg":"HS256","typ":"JWT"}'
    for name, h, p in [
        ("full", hs, {"iss": "warden", "sub": "u1", "aud": ["cdn", "x"], "jti": "j1", "iat": 1749999000,
                      "nbf": 1749999000, "exp": 1750003600, "path": "/vid123/", "video_id": "vid123",
                      "ip": "203.0.113.0/24", "ua": "Mozilla/5.0"}),
        ("expired", hs, {"exp": 1600000000}),
        ("alg-none", '{"alg":"none"}', {"exp": 1893456000}),
        ("alg-rs256", '{"alg":"RS256","kid":"k"}', {"exp": 1893456000}),
        ("crit", '{"alg":"HS256","crit":["b64"],"b64":false}', {"exp": 1893456000}),
        ("dup-alg", '{"alg":"HS256","alg":"none"}', {"exp": 1893456000}),
        ("types", hs, {"exp": "1893456000", "nbf": 1.5, "aud": 7, "iss": None, "ip": ["x"]}),
    ]:
        put("jwt_verify", "hdr-" + name, b"\x02" + h.encode() + b"\n" + json.dumps(p).encode())
    put("jwt_verify", "edge-two-dots", b"\x00a.b.c")
    put("jwt_verify", "edge-four-parts", b"\x00eyJhbGciOiJIUzI1NiJ9.e30.AAAA.BBBB")

    # Akamai
    ak = load("cdn/akamai-edgeauth.json")
    for c in ak["cases"]:
        for lib in ("node", "python"):
            t = c["expected_node_akamai_edgeauth_0_2_0" if lib == "node" else "expected_python_edgeauth"]
            if lib == "python" and t == c["expected_node_akamai_edgeauth_0_2_0"]:
                continue
            put("akamai_verify", "raw-%s-%s" % (c["name"], lib), b"\x00" + t.encode())
            put("token_inspect", "akamai-%s-%s" % (c["name"], lib), t)
        fields = t.rsplit("~hmac=", 1)[0]
        put("akamai_verify", "signed-" + c["name"], (b"\x02" if c["type"] == "url" else b"\x01") + fields.encode())
        put("akamai_verify", "url-" + c["name"], b"\x03" + t.encode())
    put("akamai_verify", "signed-fields-edge", b"\x01ip=203.0.113.7~st=1700000000~exp=1700000300~acl=/this/*!/x/?y~id=a~data=b%7ec")
    put("akamai_verify", "signed-no-exp", b"\x01acl=/*")

    # Secure links (key "secret": only the nginx-docs case verifies, the others exercise parsing).
    sl = load("cdn/securelink-md5.json")
    for c in sl["cases"]:
        uri = c.get("uri") or c["path"]
        url = "%s?md5=%s&expires=%d" % (uri, c["expected"], c["expires"])
        put("securelink_verify", c["name"], bytes([1 << 3]) + url.encode())
        put("securelink_verify", c["name"] + "-plain", b"\x00" + url.encode())
        put("securelink_verify", "signed-" + c["name"], b"\x01" + uri.lstrip("/").encode())
        put("token_inspect", "securelink-" + c["name"], url)
    cc = sl["cdn77"]["case"]
    put("securelink_verify", "cdn77", b"\x02/images/photo.png?secure=%s,1333497600" % cc["expected"].encode())
    put("securelink_verify", "edge-abs-encoded", b"\x00https://cdn.example.com/a%20b/../c.ts?md5=AAAAAAAAAAAAAAAAAAAAAA==&expires=&x")
    put("securelink_verify", "edge-dir", bytes([1 << 2]) + b"/videos/video-1/seg.ts?md5=CfiN7Uc9aq72wIBHSVmzvw&expires=1893456000")
    put("securelink_verify", "edge-params", b"\x20/p?st=x&e=1")

    # CloudFront
    with open(os.path.join(VEC, "cdn/cloudfront-signer-vectors.txt")) as f:
        for line in f:
            if ":" not in line or line.startswith("sdk"):
                continue
            name, val = line.split(":", 1)
            name, val = name.strip(), val.strip()
            if val.startswith("{"):
                cookies = json.loads(val)
                put("cloudfront_verify", "cookie-" + name,
                    b"\x02" + "; ".join("%s=%s" % kv for kv in cookies.items()).encode())
                pol = cookies.get("CloudFront-Policy")
            else:
                put("cloudfront_verify", "url-" + name, b"\x00" + val.encode())
                put("token_inspect", "cloudfront-" + name, val)
                pol = val.split("Policy=")[1].split("&")[0] if "Policy=" in val else None
            if pol:
                p = base64.b64decode(pol.replace("-", "+").replace("_", "=").replace("~", "/"))
                put("cloudfront_verify", "policy-" + name, b"\x01" + p)
    res = "https://d111111abcdef8.cloudfront.net/private-content/private.jpeg"
    put("cloudfront_verify", "policy-canned", b"\x01" + json.dumps(
        {"Statement": [{"Resource": res, "Condition": {"DateLessThan": {"AWS:EpochTime": 1577836800}}}]},
        separators=(",", ":")).encode())
    put("cloudfront_verify", "policy-wild-ip6", b"\x01" + json.dumps(
        {"Statement": [{"Resource": "https://*.cloudfront.net/*/private.*",
                        "Condition": {"DateLessThan": {"AWS:EpochTime": 1577836800},
                                      "DateGreaterThan": {"AWS:EpochTime": 1500000000},
                                      "IpAddress": {"AWS:SourceIp": "::/0"}}}]}).encode())
    put("cloudfront_verify", "policy-two-statements", b"\x01" + json.dumps(
        {"Statement": [{"Resource": "*"}, {"Resource": res, "Condition": {}}]}).encode())

    # Bunny
    bn = load("cdn/bunnycdn-official-vectors.json")
    for v in bn["vectors"]:
        for m in (0, 3):
            put("bunny_verify", "%s-%d" % (v["name"], m), bytes([m]) + v["signedUrl"].encode())
        put("token_inspect", "bunny-" + v["name"], v["signedUrl"])
    put("bunny_verify", "edge-path-form", b"\x04https://h/bcdn_token=HS256-x&expires=1/abc/d.ts")

    # url: request URLs and cookie headers.
    urls = ["https://cdn.example.com:8443/content/a/index.m3u8?cat=abc&CAT=d#frag",
            "/p/a.ts?token=x&token=y&=&&md5", "http://user:pw@[2001:db8::1]:80/?x=%41%2",
            "https://h/a%2Fb?q=a+b%20c", "cat=abc; token=\"quoted\" ; __token__=exp=1~hmac=00",
            "ftp://x", "/", "https://[::1/", "https://h:99999999999999999999/x", "//h/p?x"]
    for i, u in enumerate(urls):
        put("url", "u%02d" % i, u)
    for v in bn["vectors"][:3]:
        put("url", "bunny-" + v["name"], v["signedUrl"])

    # ip
    for i, a in enumerate(["203.0.113.7", "10.0.0.0/8", "2001:db8::1", "[2001:db8::1]", "::", "::ffff:1.2.3.4",
                           "2001:db8:85a3::8a2e:370:7334/64", "1.2.3.4/33", "fe80::1%eth0", "1.2.3",
                           "01.02.03.004", "1:2:3:4:5:6:7:8:9", "::/0", "0.0.0.0/0"]):
        put("ip", "a%02d" % i, a)

    # codec
    for i, s in enumerate(["", "QQ", "QQ==", "QUJD", "-_-_", "+/+/", "QQ=", "QUJDRA===", "Zm9v\n",
                           "deadBEEF", "abc", "zz"]):
        put("codec", "s%02d" % i, s)

    # claims_json: mode byte + claims JSON of every CAT vector and the JWT cases.
    for v in catgen["vectors"]:
        put("claims_json", "cat-" + v["name"], b"\x01" + json.dumps(v["inputJson"]).encode())
    for c in jwt["cases"]:
        put("claims_json", "jwt-" + c["name"], b"\x02" + json.dumps(c["claims"]).encode())
    for name, j in [
        ("empty", "{}"), ("array", "[1]"), ("scalar", "7"),
        ("geo", '{"catgeoiso3166":["SE"],"catgeocoord":[[59.3,18.0,1000]],"geohash":"u6sce","catalpn":["h2"]}'),
        ("composite", '{"or":[{"catm":["GET"]},{"catgeoiso3166":["US"]}],"nor":[{"catm":["PUT"]}],"and":[{"catv":1}]}'),
        ("cath", '{"cath":{"User-Agent":{"prefix-match":"Mozilla"}},"catif":{"catm":[302,{"Location":"https://x/"}]}}'),
        ("types", '{"exp":"soon","iat":-1,"cti":"zz","aud":7,"catnip":["1.2.3.4/99"],"catv":2,"catreplay":9}'),
        ("bignum", '{"exp":1e300,"nbf":18446744073709551616,"iat":-9223372036854775808}'),
        ("unknown", '{"x-custom":{"a":[1,2,{"b":null}]},"crit":["x-custom"],"catdpop":{"window":5}}'),
    ]:
        put("claims_json", "edge-" + name, b"\x09" + j.encode())
    print("seed corpus: %d bytes" % total, file=sys.stderr)


def FZ_NOW():
    return 1750000000


if __name__ == "__main__":
    main()

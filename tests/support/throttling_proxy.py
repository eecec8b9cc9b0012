#!/usr/bin/env python3
"""An HTTP proxy on 127.0.0.1 that throttles like DynamoDB, for the adapter's retry tests,
and checks every request's AWS Signature Version 4 the way a strict service does.

It answers the first --throttle requests (every request when negative) with HTTP 400 and
DynamoDB's ThrottlingException JSON, and passes the others on to --upstream (dynalite),
returning its answer unchanged. It listens on a free port and writes that port to
--port-file (written whole, then renamed into place, so a reader never sees half of it).
Started and killed by tests/support/dynamo_server.cc.

With --secret-access-key, every request's Authorization header is checked first, with
botocore's signer (Debian's python3-botocore), independently of the client's: each header
named in SignedHeaders must be on the wire (AWS: "'expect' is named as a SignedHeader, but it
does not exist"), and the signature over the request as received must match. A request that
fails is answered 400 InvalidSignatureException, as AWS does, and never reaches upstream.
Each verdict is appended to --signature-log, one line a request: "ok X-Amz-Target
SignedHeaders" or "bad X-Amz-Target: why".
"""
import argparse
import http.server
import os
import re
import sys
import threading
import urllib.error
import urllib.request

AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[^,]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})$")

THROTTLED_BODY = (b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
                  b'"message":"Rate of requests exceeds the allowed throughput."}')
# Headers passed on to the upstream; the rest (Host, Content-Length) urllib sets itself.
FORWARDED = ("authorization", "content-type", "x-amz-target", "x-amz-date",
             "x-amz-security-token", "x-amz-content-sha256")


def signature_problem(method, path, headers, body, secret):
    """None when the request is signed over exactly what was received, else why not."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    received = {name.lower(): value for name, value in headers.items()}
    match = AUTHORIZATION.match(received.get("authorization", ""))
    if match is None:
        return "no AWS4-HMAC-SHA256 Authorization header: %r" % received.get("authorization")
    signed = match["signed"].split(";")
    for name in signed:
        if name not in received:
            return "'%s' is named as a SignedHeader, but it does not exist" % name
    if "x-amz-date" not in received or "host" not in signed:
        return "x-amz-date missing or host not signed"
    request = AWSRequest(method=method, url="http://%s%s" % (received["host"], path),
                         data=body, headers={name: received[name] for name in signed})
    request.context["timestamp"] = received["x-amz-date"]
    signer = SigV4Auth(Credentials(match["key"], secret), match["service"], match["region"])
    # What botocore itself would sign of these headers: if it leaves one out (it never signs
    # expect or user-agent), the client signed something a strict service does not.
    if sorted(signer.headers_to_sign(request)) != sorted(signed):
        return "SignedHeaders %s, botocore would sign %s" % (
            match["signed"], ";".join(sorted(signer.headers_to_sign(request))))
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if expected != match["signature"]:
        return "signature %s, expected %s over:\n%s" % (match["signature"], expected, canonical)
    return None


class State:
    def __init__(self, upstream, throttle, secret=None, signature_log=None):
        self.upstream = upstream
        self.throttle = throttle
        self.secret = secret
        self.signature_log = signature_log
        self.seen = 0
        self.lock = threading.Lock()

    def record(self, line):
        with self.lock, open(self.signature_log, "a") as log:
            log.write(line.replace("\n", " | ") + "\n")

    def should_throttle(self):
        with self.lock:
            self.seen += 1
            return self.throttle < 0 or self.seen <= self.throttle


def make_handler(state):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet: the tests read nothing from stderr
            pass

        def answer(self, status, body, content_type="application/x-amz-json-1.0"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if state.secret is not None:
                target = self.headers.get("X-Amz-Target", "?")
                problem = signature_problem("POST", self.path, self.headers, body, state.secret)
                if problem is not None:
                    state.record("bad %s: %s" % (target, problem))
                    self.answer(400, ('{"__type":"com.amazon.coral.service#InvalidSignatureException",'
                                      '"message":%s}' % json_string(problem)).encode())
                    return
                state.record("ok %s %s" % (target, AUTHORIZATION.match(
                    self.headers["Authorization"])["signed"]))
            if state.should_throttle():
                self.answer(400, THROTTLED_BODY)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() in FORWARDED}
            request = urllib.request.Request(state.upstream, data=body, headers=headers,
                                             method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    self.answer(reply.status, reply.read(), reply.headers.get("Content-Type"))
            except urllib.error.HTTPError as error:  # 4xx/5xx from upstream: pass it on
                self.answer(error.code, error.read(), error.headers.get("Content-Type"))
            except (urllib.error.URLError, OSError) as error:
                self.answer(502, str(error).encode(), "text/plain")

    return Handler


def json_string(text):
    import json
    return json.dumps(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--throttle", type=int, required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--secret-access-key")
    parser.add_argument("--signature-log")
    args = parser.parse_args()
    state = State(args.upstream, args.throttle, args.secret_access_key, args.signature_log)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    temp = args.port_file + ".tmp"
    with open(temp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(temp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
